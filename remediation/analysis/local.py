"""The default analyzer: runbooks (shipped, admin-written and learned from feedback), no network."""

from __future__ import annotations

from remediation.analysis.base import AnalysisResult, TicketText
from remediation.analysis.matching import (
    Match,
    RunbookEntry,
    confidence_for,
    find_params,
    find_target,
    match_runbooks,
)
from remediation.catalogue import SuggestedAction, get_operation, validate_suggestions
from remediation.models import Runbook, RunbookSource
from remediation.selectors import learned_runbooks_for_pattern, written_runbooks_for_category

NO_MATCH = (
    "No runbook matched this ticket, so no action is suggested. A person should investigate; "
    "the feedback on how it was fixed teaches the next similar ticket."
)


def _entry(row: Runbook) -> RunbookEntry:
    return RunbookEntry(
        name=row.name,
        operation=row.operation,
        symptoms=tuple(row.symptom_list),
        resolution=row.resolution,
        category=row.category,
        params=row.params if isinstance(row.params, dict) else {},
        learned=row.source == RunbookSource.FEEDBACK,
        id=row.id,
    )


def load_runbooks(category: str = "", pattern_hash: str = "") -> list[RunbookEntry]:
    """Enabled written runbooks for ``category`` and the active learned runbooks of the
    ticket's own pattern (``TicketText.pattern_hash``) only: a learned runbook needs the
    pattern to match, and the work per ticket does not grow with what was learned."""
    rows = written_runbooks_for_category(category) + learned_runbooks_for_pattern(pattern_hash)
    return [_entry(row) for row in rows]


class LocalAnalyzer:
    name = "local"

    def __init__(self, runbooks: list[RunbookEntry] | None = None) -> None:
        # Tests and callers may pass runbooks; otherwise they are read per ticket, so an
        # edit in the admin or a runbook just learned applies to the very next ticket.
        self._runbooks = runbooks

    def analyze(self, ticket: TicketText) -> AnalysisResult:
        runbooks = (
            self._runbooks
            if self._runbooks is not None
            else load_runbooks(ticket.category, ticket.pattern_hash)
        )
        matches = match_runbooks(ticket.text, runbooks, category=ticket.category)
        if not matches:
            return AnalysisResult(NO_MATCH, [], [], 0.0, self.name)
        dropped: list[str] = []
        for match in matches:
            result = self._from_match(ticket, match, dropped)
            if result is not None:
                return result
        return AnalysisResult(NO_MATCH, [], dropped, 0.0, self.name)

    def _from_match(
        self, ticket: TicketText, match: Match, dropped: list[str]
    ) -> AnalysisResult | None:
        runbook = match.runbook
        operation = get_operation(runbook.operation)
        if operation is None:
            # An admin typo must not stop the next runbook from being used.
            dropped.append(
                f"runbook {runbook.name!r} names {runbook.operation[:60]!r}, "
                "which is not a catalogue operation"
            )
            return None
        known = {p.name for p in operation.params}
        params = {k: v for k, v in runbook.params.items() if k in known}
        params.update(find_params(ticket.text, operation))
        target = find_target(ticket.text, operation, affected_system=ticket.affected_system)
        if target is not None:
            params[operation.target_param] = target
        matched = ", ".join(f'"{s}"' for s in match.matched[:5])
        note = f"Matched runbook {runbook.name!r} on {matched}."
        if operation.target_param not in params:
            dropped.append(
                f"{operation.key}: no {operation.target_param} was named in the ticket "
                "(set affected_system)"
            )
            actions: list[SuggestedAction] = []
        else:
            actions, reasons = validate_suggestions(
                [{"operation": operation.key, "params": params}]
            )
            dropped.extend(reasons)
        if actions:
            note = f"Suggested: {actions[0].action}. {note}"
        return AnalysisResult(
            resolution=f"{runbook.resolution}\n\n{note}",
            actions=actions,
            dropped=dropped,
            confidence=confidence_for(match, usable=bool(actions)),
            analyzer=self.name,
            runbooks=[runbook.name],
        )
