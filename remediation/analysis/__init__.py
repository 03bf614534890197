"""Analysis: a ticket in, resolution text, validated catalogue actions and a confidence out.

Callers use ``get_analyzer().analyze(TicketText(...))`` and treat ``AnalysisError`` as
"manual review, with this reason".
"""
