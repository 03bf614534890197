"""Which analyzer runs: ``get_analyzer()`` returns the one the settings name."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from remediation.analysis.base import Analyzer
from remediation.analysis.claude import ClaudeAnalyzer
from remediation.analysis.local import LocalAnalyzer

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
