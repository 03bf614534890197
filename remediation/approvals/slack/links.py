"""A Slack user links itself to its account, no admin needed.

``/remediation link`` (a request Slack signed, so the Slack user is who Slack says) answers
with a link only that Slack user sees: a token signed with the project's key
(``django.core.signing``, its own salt) naming the workspace, the Slack user and a nonce,
valid for ``MAX_AGE_SECONDS``. Whoever opens it signed in on the web is shown which Slack
user will act as them, and confirms with a POST (CSRF-protected: a page elsewhere cannot
link its author's Slack user to a visitor's account). The confirmation binds the Slack
user to that account (``SlackUserLink``), audited (``slack.linked``).

Refused, each with its reason and audited: a token that is not ours or was altered (400),
one older than ``MAX_AGE_SECONDS`` (400), one used already (409: its nonce is stored once,
``SlackLinkUse``), one made for another account (``/remediation link alice``, opened by bob:
403), and a Slack user linked to another account already (409: an admin unlinks it first).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from config.errors import ApplicationError, Conflict, Forbidden
from remediation.approvals.models import SlackUserLink
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.notifications.models import SlackLinkUse
from remediation.notifications.services import absolute

SALT = "remediation.approvals.slack.link"
MAX_AGE_SECONDS = 15 * 60
_FIELDS = ("team", "user", "nonce")


@dataclass(frozen=True)
class LinkOffer:
    team_id: str
    slack_user_id: str
    slack_name: str
    nonce: str
    intended: str  # "" or the username / e-mail the link was asked for


def link_url(team_id: str, slack_user_id: str, slack_name: str = "", intended: str = "") -> str:
    """The one-time link for a Slack user (proven by a signed Slack request)."""
    token = signing.dumps(
        {
            "team": team_id,
            "user": slack_user_id,
            "name": slack_name[:80],
            "for": intended[:150],
            "nonce": secrets.token_urlsafe(18),
        },
        salt=SALT,
    )
    return absolute(reverse("slack-link", args=[token]))


def _refuse(error: ApplicationError, user: User, details: dict[str, Any]) -> ApplicationError:
    with transaction.atomic():
        audit(
            AuditAction.SLACK_REFUSED,
            f"Slack link refused for {user.get_username()}: {error.message}",
            acting_user=user,
            details={"why": error.message, "code": error.code, **details},
        )
    return error


def link_read(token: str, user: User) -> LinkOffer:
    """What the link offers ``user``, or the refusal (raised)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise _refuse(
            ApplicationError(
                "This link has expired: run /remediation link in Slack again.",
                code="link_expired",
                fields={"token": ["Expired."]},
            ),
            user,
            {},
        ) from None
    except signing.BadSignature:
        raise _refuse(
            ApplicationError(
                "This is not a link of this system (or it was altered).",
                code="link_invalid",
                fields={"token": ["Not a valid link."]},
            ),
            user,
            {},
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) and 0 < len(data[k]) <= 64 for k in _FIELDS
    ):
        raise ApplicationError("This link is malformed.", code="link_invalid")
    offer = LinkOffer(
        team_id=data["team"],
        slack_user_id=data["user"],
        slack_name=str(data.get("name") or ""),
        nonce=data["nonce"],
        intended=str(data.get("for") or ""),
    )
    who = {"team": offer.team_id, "slack_user": offer.slack_user_id}
    if offer.intended and offer.intended.lower() not in {
        user.get_username().lower(),
        (user.email or "").strip().lower(),
    }:
        raise _refuse(
            Forbidden("This link was made for another user of this system.", code="another_user"),
            user,
            who,
        )
    if SlackLinkUse.objects.filter(nonce=offer.nonce).exists():
        raise _refuse(
            Conflict("This link was used already: each link works once.", code="link_used"),
            user,
            who,
        )
    other = (
        SlackUserLink.objects.filter(team_id=offer.team_id, slack_user_id=offer.slack_user_id)
        .exclude(user=user)
        .exists()
    )
    if other:
        raise _refuse(
            Conflict(
                "This Slack user is linked to another account; an administrator unlinks it first.",
                code="linked_to_another_user",
            ),
            user,
            who,
        )
    return offer


def link_bind(token: str, user: User) -> SlackUserLink:
    """Bind the link's Slack user to ``user``, once (audited)."""
    offer = link_read(token, user)
    who = {"team": offer.team_id, "slack_user": offer.slack_user_id}
    try:
        with transaction.atomic():
            SlackLinkUse.objects.create(
                nonce=offer.nonce,
                team_id=offer.team_id,
                slack_user_id=offer.slack_user_id,
                user=user,
            )
            link = (
                SlackUserLink.objects.select_for_update()
                .filter(team_id=offer.team_id, slack_user_id=offer.slack_user_id)
                .first()
            )
            if link is not None and link.user_id != user.pk:
                raise Conflict(
                    "This Slack user is linked to another account; an administrator unlinks "
                    "it first.",
                    code="linked_to_another_user",
                )
            if link is None:
                link = SlackUserLink.objects.create(
                    team_id=offer.team_id, slack_user_id=offer.slack_user_id, user=user
                )
            audit(
                AuditAction.SLACK_LINKED,
                f"Slack user {offer.slack_user_id} ({offer.slack_name or 'no name'}) of "
                f"workspace {offer.team_id} linked to {user.get_username()} by its owner",
                acting_user=user,
                details={**who, "slack_name": offer.slack_name},
            )
    except IntegrityError:  # the same link confirmed twice at once: the first one counts
        raise _refuse(
            Conflict("This link was used already: each link works once.", code="link_used"),
            user,
            who,
        ) from None
    except Conflict as exc:
        raise _refuse(exc, user, who) from None
    return link
