"""Policy what-if: replay a category's stored decisions with a changed policy (read-only).

Reads tickets and policies, calls the pure replay (``remediation.decisions.rules.whatif``), and
writes nothing: no ticket, audit row or task is touched, whatever the policy says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from policies.models import AutoRemediationPolicy
from policies.rules import GlobalSettings
from policies.selectors import global_settings, policy_for_category
from remediation.catalogue.rules.operations import validate_suggestions
from remediation.decisions.rules.decision import (
    DecisionInput,
    Outcome,
    PatternFacts,
    observed_basis,
)
from remediation.decisions.rules.whatif import (
    StoredDecision,
    WhatIfReport,
    actions_from,
    compare,
    now_of,
    pattern_from,
    safety_from,
    settings_from,
    stored_outcome,
)
from remediation.tickets.models import Ticket

MAX_DAYS = 3650
CHUNK = 2000


def stored_decisions(category: str, *, days: int) -> Iterator[StoredDecision]:
    """The decided tickets of ``category`` created in the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    current_settings = global_settings()
    tickets = (
        Ticket.objects.filter(
            category=category, created_at__gte=since, remediation_decision__isnull=False
        )
        .select_related("pattern")
        .order_by("created_at", "id")
    )
    for ticket in tickets.iterator(chunk_size=CHUNK):
        yield _stored(ticket, current_settings)


def _stored(ticket: Ticket, current_settings: GlobalSettings) -> StoredDecision:
    facts = ticket.decision_facts if isinstance(ticket.decision_facts, dict) else None
    decision = ticket.remediation_decision if isinstance(ticket.remediation_decision, dict) else {}
    if facts is not None:
        actions = actions_from(facts.get("actions", []))
        dropped = tuple(str(d) for d in facts.get("dropped", []))
        held = tuple(str(h) for h in facts.get("held", []))
        paused = str(facts.get("paused") or "")
        pattern = pattern_from(facts.get("pattern"))
        safety = safety_from(facts.get("safety"))
        settings = settings_from(facts.get("settings"), current_settings)
        outcome = stored_outcome(decision, ticket.decision_mode, ticket.auto_remediation_enabled)
        if facts.get("outcome") in {o.value for o in Outcome}:
            outcome = Outcome(facts["outcome"])
        backup_asked = bool(facts.get("backup_asked"))
    else:
        # Decided before the facts were stored: the actions re-validated, the pattern and
        # global settings as they stand now, the safety booleans of the stored decision.
        valid, refused = validate_suggestions(ticket.suggested_actions or [])
        actions = tuple(valid)
        dropped = (*(str(d) for d in ticket.dropped_actions or []), *refused)
        p = ticket.pattern
        pattern = (
            PatternFacts(
                hash=p.hash,
                eligible=p.eligible_for_auto_remediation and p.enabled,
                similar_resolved=p.success_count,
                positive_outcome_rate=p.positive_outcome_rate,
            )
            if p is not None
            else None
        )
        checks = decision.get("safety_checks")
        safety = safety_from(checks) if isinstance(checks, dict) else None
        settings = current_settings
        outcome = stored_outcome(decision, ticket.decision_mode, ticket.auto_remediation_enabled)
        backup_asked = True  # the stored verdict stands for whatever was asked
        held = ()
        paused = ""
    inp = DecisionInput(
        ticket_id=ticket.ticket_id,
        category=ticket.category,
        auto_remediation_enabled=ticket.auto_remediation_enabled,
        actions=actions,
        now=now_of(facts, decision, ticket.created_at),
        settings=settings,
        policy=None,
        dropped=dropped,
        resolution=ticket.resolution,
        confidence=ticket.confidence_score,
        reliability=ticket.reliability_score,
        probability=ticket.decided_probability,
        probability_basis=_calibration_of(ticket.remediation_decision),
        pattern=pattern,
        safety=safety,
        observed=observed_basis(ticket.diagnosis),
        held=held,
        paused=paused,
    )
    return StoredDecision(
        ticket_id=ticket.ticket_id,
        inp=inp,
        outcome=outcome,
        backup_asked=backup_asked,
        status=ticket.status,
        ticket_outcome=ticket.outcome,
        facts_stored=facts is not None,
    )


def policy_whatif(category: str, changed: AutoRemediationPolicy, *, days: int) -> WhatIfReport:
    """Replay ``category``'s decisions of the last ``days`` days under ``changed`` (an
    unsaved policy, see ``policies.whatif.policy_with_changes``) and count the differences
    against what was decided. A disabled policy counts as none, as in the live decision."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    current = policy_for_category(category)
    return compare(
        stored_decisions(category, days=days),
        changed.rules() if changed.enabled else None,
        current.rules() if current is not None else None,
    )


def _calibration_of(decision: object) -> str:
    """What gave the stored decision's calibrated probability ("" when none)."""
    if not isinstance(decision, dict):
        return ""
    record = decision.get("reliability")
    return str(record.get("calibration") or "") if isinstance(record, dict) else ""
