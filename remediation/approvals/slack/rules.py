"""What the Slack app says and reads, in plain values (no Django): the escaping of untrusted
text, the approval message as it stands (its text, its blocks, its buttons while they
apply), and the words of the ``/remediation`` command."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

# Slack's limits: a section's text, and a message's fallback ``text`` kept short.
MAX_SECTION = 2900
MAX_FALLBACK = 300
MAX_REASON = 500
# What a command's text may hold: printable text, no control character (a NUL among them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CATEGORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,49}")
# Words that name every category in ``pause``/``resume``.
EVERY_CATEGORY = frozenset({"all", "everything", "*"})

HELP = (
    "`/remediation status`: what is paused\n"
    "`/remediation pause [category] reason…`: pause auto-remediation (every category, or "
    "one)\n"
    "`/remediation resume [category]`: lift that pause\n"
    "`/remediation link [username]`: link your Slack user to your account on the web"
)


def escape(text: Any) -> str:
    """Untrusted text in Slack's mrkdwn: &, < and > escaped, so a ticket title cannot
    mention a channel or forge a link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def has_control(text: str) -> bool:
    return bool(_CONTROL.search(text))


# --- the command ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    verb: str  # status, pause, resume, link, help; "" when refused (see ``error``)
    category: str = ""  # "" for every category
    reason: str = ""
    error: str = ""
    account: str = ""  # link: the username or e-mail the link is for ("" for whoever opens it)


def parse_command(text: str, known: Collection[str]) -> Command:
    """Read ``/remediation``'s text. ``pause`` takes an optional category then the reason:
    the first word is a category only when something names that category (``known``, in
    lowercase) or it is ``all``; otherwise every word is the reason and the pause is of
    every category (a mistyped category pauses more, never less). ``resume`` takes an
    optional category; nothing or ``all`` resumes the pause of every category."""
    words = text.split()
    if not words:
        return Command("help")
    verb, rest = words[0].lower(), words[1:]
    if verb in ("help", "status"):
        return Command(verb)
    if verb == "link":
        if len(rest) > 1 or (rest and len(rest[0]) > 150):
            return Command("", error="link takes at most one word: your username or e-mail")
        return Command("link", account=rest[0] if rest else "")
    if verb == "resume":
        if len(rest) > 1:
            return Command("", error="resume takes at most one word: the category")
        word = rest[0].lower() if rest else ""
        if word in EVERY_CATEGORY:
            word = ""
        if word and not _CATEGORY.fullmatch(word):
            return Command("", error="a category is letters, digits, hyphens, underscores")
        return Command("resume", category=word)
    if verb == "pause":
        category = ""
        if rest and (rest[0].lower() in EVERY_CATEGORY or rest[0].lower() in known):
            category = "" if rest[0].lower() in EVERY_CATEGORY else rest[0].lower()
            rest = rest[1:]
        reason = " ".join(rest)
        if not reason:
            return Command("", error="say why: `/remediation pause [category] reason…`")
        if len(reason) > MAX_REASON:
            return Command("", error=f"the reason is longer than {MAX_REASON} characters")
        return Command("pause", category=category, reason=reason)
    return Command("", error=f"unknown command {verb[:30]!r}")


# --- the approval message -------------------------------------------------------------------


@dataclass(frozen=True)
class MessageView:
    """The approval message as the ticket stands: every text here is untrusted or names
    people, and is escaped when rendered."""

    ticket_id: str
    title: str
    runs: list[str]  # "operation on system", one per action
    risk: str
    reliability: str
    required: int
    expires_at: str  # "2026-12-07 10:00"
    link: str
    state: str  # pending, approved, rejected, expired
    decisions: list[str] = field(default_factory=list)  # "approved by alice (Slack) at …"
    decided_reason: str = ""
    execution: str = ""  # "Execution T-1:1: succeeded — …"
    outcome: str = ""  # "The fix held …", "The fix did not hold: …"
    approve_token: str = ""
    reject_token: str = ""
    critical: bool = False


STATE_WORDS = {
    "pending": "waits for approval",
    "approved": "approved",
    "rejected": "rejected",
    "expired": "expired",
}


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


def message_blocks(view: MessageView, *, block_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The message's fallback text and its blocks. The Approve and Reject buttons are there
    only while the request waits (and tokens exist); the Open button always."""
    state = STATE_WORDS.get(view.state, view.state)
    runs = "; ".join(escape(r) for r in view.runs) or "nothing"
    lines = [
        f"*{escape(view.ticket_id)}* {escape(state)}: {escape(view.title)}",
        f"Will run: {runs}" if view.state == "pending" else f"Actions: {runs}",
        f"Risk: {escape(view.risk)} · Reliability: {escape(view.reliability)}",
    ]
    if view.state == "pending":
        lines.append(f"{view.required} approval(s) needed, until {escape(view.expires_at)} UTC")
    lines.extend(escape(d) for d in view.decisions)
    if view.state in ("rejected", "expired") and view.decided_reason:
        lines.append(escape(view.decided_reason))
    if view.execution:
        lines.append(escape(view.execution))
    if view.outcome:
        lines.append(escape(view.outcome))
    text = "\n".join(lines)
    if len(text) > MAX_SECTION:
        text = text[: MAX_SECTION - 1] + "…"
    elements: list[dict[str, Any]] = []
    if view.state == "pending" and view.approve_token and view.reject_token:
        elements += [
            _button(view.approve_token, True, view.critical),
            _button(view.reject_token, False, view.critical),
        ]
    elements.append(
        {
            "type": "button",
            "action_id": "open",
            "text": {"type": "plain_text", "text": "Open"},
            "url": view.link,
        }
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": block_id, "elements": elements},
    ]
    # The notification's fallback text is read by Slack as mrkdwn too: escaped like the
    # blocks, so a title cannot say <!channel> or forge a link.
    fallback = escape(f"{view.ticket_id} {state}: {view.title}"[:MAX_FALLBACK])
    return fallback, blocks
