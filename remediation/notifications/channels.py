"""Chat and webhook notifications through Apprise, and the message texts from templates.

The same message reaches every channel: rendered from Django templates
(``templates/notifications/<event>.txt`` and ``.html``), the HTML where a service shows it,
and the plain text in e-mail beside the HTML. Sent only from tasks, after the change
committed; a channel that fails is logged and audited, and does not stop the others or the
e-mail (the e-mail's own retry rules stay as they are).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string

from config.secrets import reserved_env_problem
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.notifications.models import NotificationChannel
from remediation.tickets.models import Ticket

logger = logging.getLogger(__name__)
# What every Apprise URL starts with: a scheme ("slack://", "jsons://", "mailto://").
_APPRISE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{0,31}://")

APPROVAL_NEEDED = "approval_needed"
PROBLEM = "problem"
EVENT_FLAG = {APPROVAL_NEEDED: "on_approval_needed", PROBLEM: "on_problem"}
MAX_SUBJECT = 200


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def message(event: str, context: dict[str, Any]) -> Message:
    """The subject, text and HTML of ``event`` from its templates (autoescaped HTML)."""
    subject = " ".join(render_to_string(f"notifications/{event}.subject.txt", context).split())
    return Message(
        subject=subject[:MAX_SUBJECT],
        text=render_to_string(f"notifications/{event}.txt", context),
        html=render_to_string(f"notifications/{event}.html", context),
    )


def channels_for(event: str, category: str) -> list[NotificationChannel]:
    """The enabled channels that want ``event`` for tickets of ``category``: those with no
    policy selected, and those with a policy of that category."""
    flag = EVENT_FLAG[event]
    return list(
        NotificationChannel.objects.filter(enabled=True, **{flag: True})
        .filter(Q(policies__isnull=True) | Q(policies__category=category))
        .distinct()
        .order_by("name")
    )


def send(channel: NotificationChannel, msg: Message) -> str:
    """Send ``msg`` to one channel: "sent", or why not."""
    problem = reserved_env_problem(channel.url_env)
    if problem:
        # A row written past the admin's validation: the secret is never read.
        return f"refused: {problem}"
    url = os.environ.get(channel.url_env, "").strip()
    if not url:
        return f"not configured ({channel.url_env} is not set)"
    if not _APPRISE_URL.match(url):
        # Apprise logs a URL it cannot parse, in full: a value that is not one stays here.
        return f"not a usable Apprise URL in {channel.url_env}"
    import apprise  # here, not at start-up: only a process that sends needs it

    sender = apprise.Apprise()
    if not sender.add(url):
        return f"not a usable Apprise URL in {channel.url_env}"
    try:
        ok = sender.notify(body=msg.html, title=msg.subject, body_format=apprise.NotifyFormat.HTML)
    except Exception as exc:  # a plugin's own error: logged, never fatal to the task
        logger.exception("channel %s failed", channel.name)
        return f"failed: {type(exc).__name__}"
    return "sent" if ok else "failed: the service refused or did not answer"


def channels_notify(event: str, ticket: Ticket | None, category: str, msg: Message) -> dict:
    """Tell every channel that wants ``event`` for ``category``; audit who was told.
    Returns {channel name: "sent" or why not}."""
    results = {channel.name: send(channel, msg) for channel in channels_for(event, category)}
    if results:
        sent = sum(r == "sent" for r in results.values())
        with transaction.atomic():
            audit(
                AuditAction.CHANNELS_NOTIFIED,
                f"{sent} of {len(results)} channel(s) told: {msg.subject}",
                ticket=ticket,
                details={"event": event, "results": results},
            )
    return results
