"""``/remediation``, Slack's slash command: ``status``, ``pause [category] reason…``,
``resume [category]``, ``link [username]`` and ``help``.

A command gets through what a click gets through: Slack's signature and timestamp
(``verify``), a well-formed form body (Slack's ``application/x-www-form-urlencoded`` fields
``team_id``, ``user_id``, ``command``, ``text``...) whose text holds no control character.
Then ``link`` answers the one-time link (``links``); the others act as the linked user, who
must hold the kill switch's own permission (``policies.pause_remediation``, as the API
``/api/v1/kill-switch`` and the admin ask), through the kill switch's services, so a pause
from Slack is audited as any other (``remediation.paused`` / ``remediation.resumed``). An
unlinked Slack user is told to link. Every answer is ephemeral: only the person who typed
it sees it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from policies.categories import category_uses
from policies.models import PAUSE_PERMISSION, RemediationPause
from policies.services import remediation_pause, remediation_resume
from remediation.approvals.models import SlackUserLink
from remediation.approvals.slack.links import MAX_AGE_SECONDS, link_url
from remediation.approvals.slack.rules import HELP, escape, has_control, parse_command
from remediation.approvals.slack.verify import (
    SlackAnswer,
    ephemeral,
    refused,
    slack_enabled,
    unverified,
)

MAX_TEXT = 1000
FIELDS = ("team_id", "user_id", "command")


def _form(body: bytes) -> dict[str, str] | None:
    """Slack's form, one value per field; None when it is not one."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    if any(len(values) != 1 for values in form.values()):
        return None
    return {key: values[0] for key, values in form.items()}


def _id(value: str | None) -> str | None:
    ok = value and len(value) <= 32 and value.isascii() and value.isalnum()
    return value if ok else None


def _pauses() -> str:
    pauses = list(RemediationPause.objects.select_related("paused_by"))
    lines = []
    if not settings.AUTO_REMEDIATION_ENABLED:
        lines.append("AUTO_REMEDIATION_ENABLED=false: nothing runs by itself, whatever the switch.")
    if not pauses:
        lines.append("Auto-remediation is not paused.")
    for pause in pauses:
        who = pause.paused_by.get_username() if pause.paused_by else "an administrator"
        lines.append(
            f"Paused for {pause.scope} by {who} since {pause.paused_at:%Y-%m-%d %H:%M} UTC: "
            f"{pause.reason}"
        )
    return "\n".join(lines)


def command(body: bytes, timestamp: str | None, signature: str | None) -> SlackAnswer:
    """One slash command request from Slack, as received: the raw body and its headers."""
    if not slack_enabled():
        return SlackAnswer(404, {"error": "Slack is not configured"})
    refusal = unverified(body, timestamp, signature)
    if refusal is not None:
        return refusal
    form = _form(body)
    team_id = _id(form.get("team_id")) if form else None
    user_id = _id(form.get("user_id")) if form else None
    if form is None or team_id is None or user_id is None or not form.get("command"):
        return refused(400, "not a slash command (team_id, user_id and command expected)", {})
    who: dict[str, Any] = {"slack_user": user_id, "team": team_id}
    text = form.get("text", "")
    if len(text) > MAX_TEXT or has_control(text):
        return refused(400, "the command's text is too long or holds control characters", who)
    words = text.split()
    first = words[1].lower() if len(words) > 1 and words[0].lower() == "pause" else ""
    known = {first} if first and category_uses(first) else set()
    parsed = parse_command(text, known)
    if parsed.error:
        return SlackAnswer(200, ephemeral(f"{parsed.error}.\n{HELP}"))
    if parsed.verb == "help":
        return SlackAnswer(200, ephemeral(HELP))
    if parsed.verb == "link":
        url = link_url(team_id, user_id, form.get("user_name", "")[:80], parsed.account)
        intro = escape(
            f"Open this link signed in on the web to link your Slack user to your account "
            f"(it works once, for {MAX_AGE_SECONDS // 60} minutes"
            + (f", for {parsed.account} only" if parsed.account else "")
            + "): "
        )
        return SlackAnswer(200, {"response_type": "ephemeral", "text": f"{intro}<{url}|link>"})
    link = (
        SlackUserLink.objects.select_related("user")
        .filter(team_id=team_id, slack_user_id=user_id)
        .first()
    )
    if link is None or not link.user.is_active:
        return SlackAnswer(
            200,
            ephemeral(
                "Your Slack user is not linked to a user of this system: run "
                "`/remediation link` and open the link signed in on the web."
            ),
        )
    user = link.user
    if not user.has_perm(PAUSE_PERMISSION):
        return refused(
            200,
            f"{user.get_username()} may not pause or resume auto-remediation (it needs the "
            "kill switch's permission, policies.pause_remediation)",
            {**who, "user": user.get_username(), "command": parsed.verb},
        )
    if parsed.verb == "status":
        return SlackAnswer(200, ephemeral(_pauses()))
    scope = f"category {parsed.category}" if parsed.category else "every category"
    if parsed.verb == "pause":
        result = remediation_pause(category=parsed.category, reason=parsed.reason, user=user)
        said = (
            f"Paused auto-remediation for {scope}: {parsed.reason}"
            if result.created
            else f"Already paused for {scope}; the first reason stands: {result.pause.reason}"
        )
        return SlackAnswer(200, ephemeral(said))
    resumed = remediation_resume(category=parsed.category, user=user)
    said = f"Resumed auto-remediation for {scope}." if resumed else f"{scope} was not paused."
    if resumed and RemediationPause.objects.exists():
        said += "\n" + _pauses()
    return SlackAnswer(200, ephemeral(said[0].upper() + said[1:]))
