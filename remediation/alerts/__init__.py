"""Alert intake (Prometheus Alertmanager's webhook) and storm control.

``mapping`` and ``storm_rules`` are pure; ``storm`` is the intake hook of
``remediation.tickets.services.ticket_create``; ``services`` turns a webhook batch into tickets.
"""
