"""The approval message in Slack, from its post to the fix's outcome: posted with its
buttons when a request starts waiting (``approval_message_post``, from the approvers'
notification task), then updated in place (``chat.update`` on the stored channel and ``ts``)
whenever something happens to the ticket, wherever it happened (the web page, the API, the
admin, a Slack button, the expiry sweep, execution, the hold's re-check), with each event's
line in the message's thread (``chat.postMessage`` with ``thread_ts``).

The services that record those events owe the update in their own transaction
(``remediation.notifications.services.slack_update_later``: one ``SlackUpdate`` row keyed by
the event, and its task); the worker delivers it here (``slack_update_deliver``), after
commit, never inside a request. The message is rendered from the ticket's state as it
stands when the task runs, so updates delivered late or twice converge on the same message;
each thread line is claimed before it is posted, so a second delivery posts nothing, and
released again if Slack could not be reached (the task's retry posts it). A message Slack
refuses to update (deleted, archived channel) is logged, and the task ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from remediation.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    SlackButton,
)
from remediation.approvals.selectors import current_digest
from remediation.approvals.slack.rules import MessageView, escape, message_blocks
from remediation.approvals.slack.verify import slack_enabled
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.execution.models import Execution, ExecutionState
from remediation.notifications.models import SlackMessage, SlackUpdate
from remediation.notifications.services import absolute
from remediation.tickets.models import TicketStatus

logger = logging.getLogger(__name__)

TOKEN_BYTES = 24
TIMEOUT_SECONDS = 10  # one Web API call; the task's retry comes after
# An update renders the state again after it sent it: if the state moved meanwhile (another
# task's update may have overtaken this one), it sends again, at most this many times.
MAX_RENDERS = 3

EXECUTION_WORDS = {
    ExecutionState.PENDING: "queued",
    ExecutionState.RUNNING: "running",
    ExecutionState.SUCCEEDED: "succeeded",
    ExecutionState.ROLLED_BACK: "failed and was rolled back",
    ExecutionState.FAILED: "failed",
    ExecutionState.UNKNOWN: "has an unknown outcome (a person reconciles)",
    ExecutionState.REFUSED: "was refused at the claim (nothing ran)",
}
DECISION_EVENTS = frozenset({"approval", "expired"})
# The thread's line for a ticket's move (``_move_ticket``'s statuses).
STATUS_WORDS: dict[str, str] = {
    TicketStatus.REMEDIATING.value: "Remediating",
    TicketStatus.RESOLVED.value: "Succeeded",
    TicketStatus.PARTIALLY_REMEDIATED.value: "Rolled back",
    TicketStatus.FAILED.value: "Failed",
    TicketStatus.MANUAL_REVIEW.value: "Manual review",
}


def _client() -> Any:
    from slack_sdk import WebClient

    return WebClient(
        token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=TIMEOUT_SECONDS
    )


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "?"


def _decision_line(decision: ApprovalDecision) -> str:
    verb = "Approved" if decision.approve else "Rejected"
    line = (
        f"{verb} by {decision.approver.get_username()} ({decision.get_via_display()}) "
        f"at {_when(decision.created_at)}"
    )
    return line + (f": {decision.comment}" if not decision.approve and decision.comment else "")


def _execution_line(execution: Execution | None) -> str:
    if execution is None:
        return ""
    words = EXECUTION_WORDS.get(ExecutionState(execution.state), execution.state)
    line = f"Execution {execution.key} {words}"
    if execution.state not in (ExecutionState.PENDING, ExecutionState.RUNNING):
        line += f" at {_when(execution.finished_at)}"
        if execution.reason:
            line += f": {execution.reason}"
    return line


def view(request: ApprovalRequest) -> MessageView:
    """The message as the ticket stands now."""
    ticket = request.ticket
    actions = [a for a in ticket.suggested_actions or [] if isinstance(a, dict)]
    decision = ticket.remediation_decision or {}
    score = ticket.reliability_score
    buttons = {
        b.approve: b.token
        for b in SlackButton.objects.filter(request=request).order_by("created_at", "id")
    }
    decisions = list(request.decisions.select_related("approver").order_by("created_at", "id"))
    execution = (
        Execution.objects.filter(ticket=ticket, requested_at__gte=request.opened_at)
        .order_by("-run")
        .first()
    )
    outcome = ""
    if ticket.fix_held_at is not None:
        outcome = f"The fix held (confirmed at {_when(ticket.fix_held_at)})"
    elif (
        execution is not None
        and execution.state == ExecutionState.SUCCEEDED
        and ticket.status == TicketStatus.FAILED
    ):
        outcome = f"The fix did not hold: {ticket.status_reason}"
    return MessageView(
        ticket_id=ticket.ticket_id,
        title=ticket.title,
        runs=[f"{a.get('operation')} on {a.get('system')}" for a in actions],
        risk=str(decision.get("risk_level") or "unknown"),
        reliability="n/a" if score is None else f"{score:.1f}",
        required=request.required_approvals,
        expires_at=f"{request.expires_at:%Y-%m-%d %H:%M}",
        link=absolute(reverse("approvals:detail", args=[ticket.ticket_id])),
        state=str(request.status),
        decisions=[_decision_line(d) for d in decisions],
        decided_reason=request.decided_reason,
        execution=_execution_line(execution),
        outcome=outcome,
        approve_token=buttons.get(True, ""),
        reject_token=buttons.get(False, ""),
        critical=any(a.get("action_type") == "critical_write" for a in actions),
    )


def _rendered(request: ApprovalRequest) -> tuple[str, list[dict[str, Any]]]:
    return message_blocks(view(request), block_id=f"approval-{request.pk}")


def approval_message_post(request: ApprovalRequest) -> str:
    """Post the request's approval message with its two buttons (after commit, from the
    notification task) and keep where it is. Returns what happened, for the task's result."""
    if not slack_enabled():
        return "slack: not configured"
    from slack_sdk.errors import SlackApiError

    if SlackMessage.objects.filter(request=request).exists():
        return "slack: posted already"
    ticket = request.ticket
    digest = current_digest(ticket)
    with transaction.atomic():
        for approve in (True, False):
            SlackButton.objects.create(
                token=secrets.token_urlsafe(TOKEN_BYTES),
                request=request,
                approve=approve,
                actions_digest=digest,
                expires_at=request.expires_at,
            )
    text, blocks = _rendered(request)
    answer = None
    try:
        answer = _client().chat_postMessage(
            channel=settings.SLACK_APPROVAL_CHANNEL, text=text, blocks=blocks
        )
    except SlackApiError as exc:
        logger.warning("slack: posting the approval of %s failed: %s", ticket.ticket_id, exc)
        outcome = f"slack: refused ({exc.response.get('error', 'error')})"
    except Exception as exc:  # the network: the mail and the page still carry the link
        logger.warning("slack: posting the approval of %s failed: %s", ticket.ticket_id, exc)
        outcome = f"slack: failed ({type(exc).__name__})"
    else:
        outcome = f"slack: posted ({answer.get('ts')})"
    with transaction.atomic():
        if answer is not None and answer.get("ts"):
            SlackMessage.objects.create(
                request=request,
                ticket=ticket,
                channel=str(answer.get("channel") or settings.SLACK_APPROVAL_CHANNEL)[:32],
                ts=str(answer["ts"])[:32],
                shown=_digest(text, blocks),
            )
        audit(
            AuditAction.SLACK_POSTED,
            f"Approval message for Slack: {outcome}",
            ticket=ticket,
            details={"channel": settings.SLACK_APPROVAL_CHANNEL, "outcome": outcome},
        )
    if answer is not None and SlackUpdate.objects.filter(ticket=ticket, sent_at=None).exists():
        # Decided (or more) before the message was out: the thread gets what it missed.
        outcome += "; " + message_refresh(SlackMessage.objects.get(request=request))
    return outcome


# --- updates ------------------------------------------------------------------------------


def _thread_line(update: SlackUpdate, request: ApprovalRequest) -> str:
    """The line of one event in the message's thread (plain; escaped when sent)."""
    if update.event == "approval":
        n = update.key.rsplit(":", 1)[-1]
        decisions = list(request.decisions.select_related("approver").order_by("created_at", "id"))
        index = int(n) - 1 if n.isdigit() else -1
        if not decisions or not 0 <= index < len(decisions):
            return "The request was decided."
        line = _decision_line(decisions[index])
        if decisions[index].approve:
            given = sum(1 for d in decisions[: index + 1] if d.approve)
            line += f" ({given} of {request.required_approvals})"
        return line
    if update.event == "expired":
        return f"Expired: {request.decided_reason or 'nobody approved in time'}"
    if update.event == "held":
        return f"The fix held: {update.detail}"
    if update.event == "did_not_hold":
        return f"The fix did not hold: {update.detail}"
    word = STATUS_WORDS.get(update.event, update.event.replace("_", " ").capitalize())
    return f"{word}: {update.detail}" if update.detail else word


def _update_in_place(client: Any, message: SlackMessage) -> str:
    from slack_sdk.errors import SlackApiError

    shown = SlackMessage.objects.filter(pk=message.pk).values_list("shown", flat=True).first()
    result = "unchanged"
    for _ in range(MAX_RENDERS):
        request = ApprovalRequest.objects.select_related("ticket").get(pk=message.request_id)
        text, blocks = _rendered(request)
        digest = _digest(text, blocks)
        if digest == shown:
            break  # Slack shows this already
        try:
            client.chat_update(channel=message.channel, ts=message.ts, text=text, blocks=blocks)
        except SlackApiError as exc:  # Slack answered: deleted message, archived channel...
            error = exc.response.get("error", "error")
            logger.warning("slack: updating %s refused: %s", message, error)
            return f"update refused ({error})"
        shown, result = digest, "updated"
        SlackMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now(), shown=digest)
    return result


def _digest(text: str, blocks: list[dict[str, Any]]) -> str:
    canonical = json.dumps([text, blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def message_refresh(message: SlackMessage) -> str:
    """Update the message in place, then post the owed lines in its thread, oldest first."""
    from slack_sdk.errors import SlackApiError

    client = _client()
    result = _update_in_place(client, message)
    posted = 0
    owed = SlackUpdate.objects.filter(ticket_id=message.ticket_id, sent_at=None).order_by("id")
    # The decision first: the last approval owes its line after the execution's start it
    # caused (both in one transaction), but it came first.
    for update in sorted(owed, key=lambda u: (u.event not in DECISION_EVENTS, u.pk)):
        claimed = SlackUpdate.objects.filter(pk=update.pk, sent_at=None).update(
            sent_at=timezone.now()
        )
        if claimed != 1:
            continue  # another delivery posts it
        request = ApprovalRequest.objects.get(pk=message.request_id)
        text = escape(_thread_line(update, request))[:3000]
        try:
            client.chat_postMessage(channel=message.channel, thread_ts=message.ts, text=text)
        except SlackApiError as exc:  # Slack answered no: posting again would not help
            logger.warning("slack: thread line %s refused: %s", update.key, exc)
            continue
        except Exception:
            SlackUpdate.objects.filter(pk=update.pk).update(sent_at=None)
            raise
        posted += 1
    return f"{result}; {posted} line(s) in the thread"


def slack_update_deliver(update_pk: int) -> str:
    """The task of one owed update (``SlackUpdate``): safe to run twice, and late."""
    update = SlackUpdate.objects.filter(pk=update_pk).first()
    if update is None:
        return "skipped: no such update"
    if not slack_enabled():
        return "slack: not configured"
    if update.sent_at is not None:
        return "skipped: sent already"
    message = SlackMessage.objects.filter(ticket_id=update.ticket_id).first()
    if message is None:
        pending = ApprovalRequest.objects.filter(
            ticket_id=update.ticket_id, status=ApprovalStatus.PENDING
        ).exists()
        if pending:
            # The approval message is not out yet: its post delivers what is owed by then.
            return "waiting for the approval message"
        # Decided before its message went out: none will (the approvers' task posts only
        # what still waits), so there is nothing to update.
        SlackUpdate.objects.filter(pk=update.pk, sent_at=None).update(sent_at=timezone.now())
        return "skipped: the request has no message in Slack"
    return message_refresh(message)
