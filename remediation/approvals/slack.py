"""Approving from Slack: an approval message with Approve and Reject buttons is posted when a
request starts waiting, and Slack's signed interaction requests decide it through the same
approval service as the API, the pages and the admin.

What a click must get through, in order, each refusal audited (``slack.refused``):

1. Slack's request signature over the raw body, with its timestamp no more than five
   minutes off (the official ``slack_sdk`` verifier): a forged or stale request gets 401;
2. a well-formed ``block_actions`` payload naming one of our buttons, the button's own
   action (an approve token cannot reject), not expired (the request's own expiry);
3. the Slack user linked to a project user by an admin (``SlackUserLink``);
4. the first use of that button by that Slack user (a replayed request is refused);
5. every rule of the approval service: the permission, never one's own ticket, M-of-N for
   critical actions, and the digest of exactly the actions the message showed.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import ApplicationError
from remediation.approvals.models import (
    ApprovalChannel,
    ApprovalRequest,
    SlackButton,
    SlackButtonUse,
    SlackUserLink,
)
from remediation.approvals.selectors import current_digest
from remediation.approvals.services import approval_grant, approval_reject
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.notifications.services import absolute

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # Slack's interaction payloads are a few KB
STALE_SECONDS = 5 * 60  # the verifier's own window, named for the refusal's wording
TOKEN_BYTES = 24
# Slack's X-Slack-Request-Timestamp: Unix seconds.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Refusals of unsigned (forged, stale, oversized) requests audited per minute at most.
UNSIGNED_AUDITS_PER_MINUTE = 30


def slack_enabled() -> bool:
    return bool(
        settings.SLACK_SIGNING_SECRET
        and settings.SLACK_BOT_TOKEN
        and settings.SLACK_APPROVAL_CHANNEL
    )


def _escape(text: Any) -> str:
    """Untrusted text in Slack's mrkdwn: &, < and > escaped, so a ticket title cannot
    mention a channel or forge a link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _button(token: str, approve: bool, critical: bool) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": "approve" if approve else "reject",
        "text": {"type": "plain_text", "text": "Approve" if approve else "Reject"},
        "style": "primary" if approve else "danger",
        "value": token,
    }
    if approve and critical:
        # Slack's own confirmation dialog: the critical action's confirmation step.
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Critical action"},
            "text": {"type": "plain_text", "text": "Approve this critical action?"},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def approval_message_post(request: ApprovalRequest) -> str:
    """Post the request's approval message with its two buttons (after commit, from the
    notification task). Returns what happened, for the task's result."""
    if not slack_enabled():
        return "slack: not configured"
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    ticket = request.ticket
    digest = current_digest(ticket)
    actions = [a for a in ticket.suggested_actions or [] if isinstance(a, dict)]
    critical = any(a.get("action_type") == "critical_write" for a in actions)
    tokens = {}
    with transaction.atomic():
        for approve in (True, False):
            token = secrets.token_urlsafe(TOKEN_BYTES)
            SlackButton.objects.create(
                token=token,
                request=request,
                approve=approve,
                actions_digest=digest,
                expires_at=request.expires_at,
            )
            tokens[approve] = token
    decision = ticket.remediation_decision or {}
    score = ticket.reliability_score
    runs = "; ".join(
        f"{_escape(a.get('operation'))} on {_escape(a.get('system'))}" for a in actions
    )
    link = absolute(reverse("approvals:detail", args=[ticket.ticket_id]))
    text = (
        f"*{_escape(ticket.ticket_id)}* waits for approval: {_escape(ticket.title)}\n"
        f"Will run: {runs or 'nothing'}\n"
        f"Risk: {_escape(decision.get('risk_level') or 'unknown')} · Reliability: "
        f"{'n/a' if score is None else f'{score:.1f}'} · {request.required_approvals} "
        f"approval(s) needed, until {request.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"approval-{request.pk}",
            "elements": [
                _button(tokens[True], True, critical),
                _button(tokens[False], False, critical),
                {
                    "type": "button",
                    "action_id": "open",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": link,
                },
            ],
        },
    ]
    client = WebClient(token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL)
    try:
        answer = client.chat_postMessage(
            channel=settings.SLACK_APPROVAL_CHANNEL,
            # The notification's fallback text is read by Slack as mrkdwn too: escaped like
            # the blocks, so a title cannot say <!channel> or forge a link.
            text=_escape(f"{ticket.ticket_id} waits for approval: {ticket.title}"[:300]),
            blocks=blocks,
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
        audit(
            AuditAction.SLACK_POSTED,
            f"Approval message for Slack: {outcome}",
            ticket=ticket,
            details={"channel": settings.SLACK_APPROVAL_CHANNEL, "outcome": outcome},
        )
    return outcome


# --- the interaction endpoint ---------------------------------------------------------------


@dataclass(frozen=True)
class SlackAnswer:
    status: int
    body: dict[str, Any]


def _refused(status: int, why: str, details: dict[str, Any], ticket: Any = None) -> SlackAnswer:
    with transaction.atomic():
        audit(
            AuditAction.SLACK_REFUSED,
            f"Slack request refused: {why}",
            ticket=ticket,
            details={"why": why, **details},
        )
    text = _escape(f"Refused: {why.rstrip('.')}.")
    return SlackAnswer(status, {"response_type": "ephemeral", "text": text})


def _refused_unsigned(status: int, why: str, details: dict[str, Any]) -> SlackAnswer:
    """A refusal of a request that did not prove it comes from Slack: anyone who reaches the
    URL can send those, so at most ``UNSIGNED_AUDITS_PER_MINUTE`` a minute are audited and
    the rest only logged, and nobody can flood the audit trail. The answer is the same."""
    key = f"slack-unsigned:{int(time.time() // 60)}"
    counts = caches["throttle"]
    counts.add(key, 0, timeout=120)
    try:
        n = counts.incr(key)
    except ValueError:  # expired between add and incr
        n = 1
    if n <= UNSIGNED_AUDITS_PER_MINUTE:
        return _refused(status, why, details)
    logger.warning("slack: request refused, not audited (over the minute's bound): %s", why)
    return SlackAnswer(status, {"response_type": "ephemeral", "text": _escape(f"Refused: {why}.")})


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        return None
    return payload if isinstance(payload, dict) else None


def _text(value: Any, limit: int = 64) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def interaction(body: bytes, timestamp: str | None, signature: str | None) -> SlackAnswer:
    """One interaction request from Slack, as received: the raw body and its two headers."""
    if not slack_enabled():
        return SlackAnswer(404, {"error": "Slack is not configured"})
    from slack_sdk.signature import SignatureVerifier

    if len(body) > MAX_BODY:
        return _refused_unsigned(413, "the request is too large", {"bytes": len(body)})
    if not _TIMESTAMP.fullmatch(timestamp or ""):
        # slack_sdk's verifier reads the header with int(): anything else raised (a 500 to
        # anyone, and a mail to the administrators per request).
        return _refused_unsigned(
            401,
            "the request's timestamp is missing or not a number (not from Slack)",
            {"timestamp": (timestamp or "")[:20].encode("unicode_escape").decode()},
        )
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    if not verifier.is_valid(body, timestamp, signature):
        try:
            age = abs(timezone.now().timestamp() - int(timestamp or ""))
        except ValueError:
            age = None
        why = (
            "the request is stale (its timestamp is more than five minutes off)"
            if age is not None and age > STALE_SECONDS
            else "the signature does not match (not from Slack)"
        )
        return _refused_unsigned(401, why, {"timestamp": (timestamp or "")[:20]})
    payload = _payload(body)
    if payload is None or payload.get("type") != "block_actions":
        return _refused(400, "not a block_actions payload", {})
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and len(actions) == 1 else None
    user: dict[str, Any] = payload["user"] if isinstance(payload.get("user"), dict) else {}
    team: dict[str, Any] = payload["team"] if isinstance(payload.get("team"), dict) else {}
    user_id = _text(user.get("id"), 32)
    team_id = _text(team.get("id") or user.get("team_id"), 32)
    if not isinstance(action, dict) or user_id is None or team_id is None:
        return _refused(400, "the payload names no single action and user", {})
    who = {"slack_user": user_id, "team": team_id}
    action_id = action.get("action_id")
    if action_id == "open":
        return SlackAnswer(200, {})  # the link button: Slack opens the page itself
    token = _text(action.get("value"))
    button = (
        SlackButton.objects.select_related("request__ticket").filter(token=token).first()
        if token is not None and action_id in ("approve", "reject")
        else None
    )
    if button is None:
        return _refused(400, "not a button of this system", who)
    ticket = button.request.ticket
    if (action_id == "approve") != button.approve:
        return _refused(400, "the button's action does not match", who, ticket)
    if button.expires_at <= timezone.now():
        return _refused(200, "this approval message has expired", who, ticket)
    link = (
        SlackUserLink.objects.select_related("user")
        .filter(team_id=team_id, slack_user_id=user_id)
        .first()
    )
    if link is None or not link.user.is_active:
        return _refused(200, "your Slack user is not linked to a user of this system", who, ticket)
    try:
        with transaction.atomic():
            SlackButtonUse.objects.create(button=button, team_id=team_id, slack_user_id=user_id)
    except IntegrityError:
        return _refused(200, "this button was already used by you (a replay)", who, ticket)
    name = link.user.get_username()
    decide = approval_grant if button.approve else approval_reject
    try:
        result = decide(
            ticket.ticket_id,
            acting_user=link.user,
            comment=f"{'Approved' if button.approve else 'Rejected'} in Slack by {name}",
            shown_digest=button.actions_digest,
            via=ApprovalChannel.SLACK,
        )
    except ApplicationError as exc:
        return _refused(200, exc.message, {**who, "user": name}, ticket)
    return SlackAnswer(200, {"response_type": "ephemeral", "text": _escape(result.message)})
