"""Is the ticket's execution approved? Placeholder: fails closed until [6/10] replaces it.

The execution service calls ``approval_check`` inside its claim transaction. Here the only
approval that exists is the decision engine's automatic one: ``ok`` when the stored
decision says no approval is required, else not ok.
"""

from __future__ import annotations

from dataclasses import dataclass

from remediation.models import Ticket


@dataclass(frozen=True)
class ApprovalCheck:
    ok: bool
    reason: str


def approval_check(ticket: Ticket) -> ApprovalCheck:
    decision = ticket.remediation_decision if isinstance(ticket.remediation_decision, dict) else {}
    if decision.get("allowed") is True and decision.get("requires_approval") is False:
        return ApprovalCheck(ok=True, reason="auto-approved by the decision engine")
    return ApprovalCheck(ok=False, reason="approval workflow not installed")
