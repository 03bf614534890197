"""Slack's interactive requests: a click on Approve or Reject of an approval message decides
it through the same approval service as the API, the pages and the admin.

What a click must get through, in order, each refusal audited (``slack.refused``):

1. Slack's request signature over the raw body, with its timestamp no more than five
   minutes off (``verify.unverified``): a forged or stale request gets 401;
2. a well-formed ``block_actions`` payload naming one of our buttons, the button's own
   action (an approve token cannot reject), not expired (the request's own expiry);
3. the Slack user linked to a project user (``SlackUserLink``: by its owner with
   ``/remediation link``, or by an admin);
4. the first use of that button by that Slack user (a replayed request is refused);
5. every rule of the approval service: the permission, never one's own ticket, M-of-N for
   critical actions, and the digest of exactly the actions the message showed.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ApplicationError
from remediation.approvals.models import (
    ApprovalChannel,
    SlackButton,
    SlackButtonUse,
    SlackUserLink,
)
from remediation.approvals.services import approval_grant, approval_reject
from remediation.approvals.slack.verify import (
    SlackAnswer,
    ephemeral,
    slack_enabled,
    unverified,
)
from remediation.approvals.slack.verify import refused as _refused


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
    refusal = unverified(body, timestamp, signature)
    if refusal is not None:
        return refusal
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
        return _refused(
            200,
            "your Slack user is not linked to a user of this system (run /remediation link)",
            who,
            ticket,
        )
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
    return SlackAnswer(200, ephemeral(result.message))
