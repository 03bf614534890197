"""Is this request from Slack? The one check every Slack endpoint (buttons, the command)
makes first: the size of the body, a timestamp that is a number, Slack's signature over
the raw body with that timestamp no more than five minutes off (the official ``slack_sdk``
verifier). Every refusal is audited (``slack.refused``), those of unsigned requests at most
``UNSIGNED_AUDITS_PER_MINUTE`` a minute."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from remediation.approvals.slack.rules import escape
from remediation.audit.models import AuditAction
from remediation.audit.services import audit

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # Slack's interaction payloads and command forms are a few KB
STALE_SECONDS = 5 * 60  # the verifier's own window, named for the refusal's wording
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


@dataclass(frozen=True)
class SlackAnswer:
    status: int
    body: dict[str, Any]


def ephemeral(text: str) -> dict[str, Any]:
    """An answer only the person who clicked or typed sees (the text escaped)."""
    return {"response_type": "ephemeral", "text": escape(text)}


def refused(status: int, why: str, details: dict[str, Any], ticket: Any = None) -> SlackAnswer:
    with transaction.atomic():
        audit(
            AuditAction.SLACK_REFUSED,
            f"Slack request refused: {why}",
            ticket=ticket,
            details={"why": why, **details},
        )
    return SlackAnswer(status, ephemeral(f"Refused: {why.rstrip('.')}."))


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
        return refused(status, why, details)
    logger.warning("slack: request refused, not audited (over the minute's bound): %s", why)
    return SlackAnswer(status, ephemeral(f"Refused: {why}."))


def unverified(body: bytes, timestamp: str | None, signature: str | None) -> SlackAnswer | None:
    """None when the request is Slack's (signed, fresh, not oversized); else the refusal."""
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
    # hmac.compare_digest raises on a str that is not ASCII: such a header is no signature.
    ascii_signature = signature if signature and signature.isascii() else ""
    if not ascii_signature or not verifier.is_valid(body, timestamp, ascii_signature):
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
    return None
