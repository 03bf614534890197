"""Analysis: a ticket in, resolution text, validated catalogue actions and a confidence out.

Callers use ``get_analyzer().analyze(TicketText(...))`` and treat ``AnalysisError`` as
"manual review, with this reason".
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from remediation.analysis.base import AnalysisError, AnalysisResult, Analyzer, TicketText
from remediation.analysis.claude import ClaudeAnalyzer
from remediation.analysis.local import LocalAnalyzer

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "Analyzer",
    "ClaudeAnalyzer",
    "LocalAnalyzer",
    "TicketText",
    "get_analyzer",
]

ANALYZERS: dict[str, type[LocalAnalyzer] | type[ClaudeAnalyzer]] = {
    LocalAnalyzer.name: LocalAnalyzer,
    ClaudeAnalyzer.name: ClaudeAnalyzer,
}


def get_analyzer(name: str | None = None) -> Analyzer:
    """The analyzer named ``name``, or the one ``settings.AUTO_REMEDIATION_ANALYZER`` names."""
    chosen = name or settings.AUTO_REMEDIATION_ANALYZER
    try:
        return ANALYZERS[chosen]()
    except KeyError:
        raise ImproperlyConfigured(
            f"unknown analyzer {chosen!r}; choose one of {', '.join(ANALYZERS)}"
        ) from None
