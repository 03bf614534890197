"""Making and revoking API tokens. Each is audited in the same transaction.

The key exists only in the return value of ``api_token_create``: the database keeps its
digest and its first characters, so whoever asked for it must hand it on at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from remediation.accounts.models import ApiToken
from remediation.audit.models import AuditAction
from remediation.audit.services import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The longest lifetime a token may be given (API_TOKEN_TTL_DAYS has the same bound).
MAX_DAYS = 3650


def token_days(days: int | None) -> int:
    """The lifetime in days: ``days``, or ``API_TOKEN_TTL_DAYS`` when None; 0 means never."""
    value = int(settings.API_TOKEN_TTL_DAYS) if days is None else days
    if not 0 <= value <= MAX_DAYS:
        raise ValidationError({"days": [f"Between 0 (never expires) and {MAX_DAYS}."]})
    return value


def _audit(token: ApiToken, verb: str, acting_user: User | None) -> None:
    expiry = token.expiry.isoformat() if token.expiry is not None else "never"
    values = {"name": token.name, "user": token.user.get_username(), "expiry": expiry}
    audit(
        AuditAction.CONFIG_CHANGED,
        f"API token {token.name!r} ({token.token_key}…) of {values['user']} {verb}",
        acting_user=acting_user,
        details={
            "model": ApiToken._meta.label,
            # The prefix names the token; the digest stays out of the trail.
            "object_id": token.token_key,
            "object": str(token),
            "verb": verb,
            "changes": {
                field: [None, value] if verb == "added" else [value, None]
                for field, value in values.items()
            },
        },
    )


def api_token_create(
    *, user: User, name: str, days: int | None = None, acting_user: User | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``, and its key (shown once, stored nowhere).

    ``days``: how long it works (0: never expires; None: ``API_TOKEN_TTL_DAYS``). Refused
    with a ``ValidationError`` naming the field: an empty or multi-line name, days out of
    range, an inactive user.
    """
    lifetime = token_days(days)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        ApiToken._meta.get_field("name").clean(name, None)
    except ValidationError as exc:
        errors["name"] = list(exc.messages)
    if not user.is_active:
        errors["user"] = [f"User {user.get_username()!r} is inactive: its token would not work."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        token, key = ApiToken.objects.create(
            user=user, name=name, expiry=dt.timedelta(days=lifetime) if lifetime else None
        )
        _audit(token, "added", acting_user)
    return token, key


def service_account_create(*, username: str, acting_user: User | None = None) -> User:
    """A user for an integration (Alertmanager, a script): active, no password (it signs in
    only with its tokens), not staff, in no group — so it may submit tickets and alerts and
    read its own, nothing more. Audited. Refused (``ValidationError`` on ``username``) when
    the name is not a valid username or is taken."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    username = (username or "").strip()
    field = model._meta.get_field(model.USERNAME_FIELD)
    try:
        field.clean(username, None)  # type: ignore[union-attr]
    except ValidationError as exc:
        raise ValidationError({"username": list(exc.messages)}) from None
    if model.objects.filter(**{model.USERNAME_FIELD: username}).exists():
        raise ValidationError({"username": [f"User {username!r} exists already."]})
    with transaction.atomic():
        user = model(**{model.USERNAME_FIELD: username})
        user.set_unusable_password()
        user.save()
        audit(
            AuditAction.CONFIG_CHANGED,
            f"Service account {username!r} created (no password, no groups)",
            acting_user=acting_user,
            details={
                "model": model._meta.label,
                "object_id": str(user.pk),
                "object": username,
                "verb": "added",
                "changes": {"username": [None, username], "password": [None, "unusable"]},
            },
        )
    return user


def api_token_revoke(token: ApiToken, *, acting_user: User | None = None) -> None:
    """Delete ``token``: from now on its key is refused (401)."""
    with transaction.atomic():
        _audit(token, "deleted", acting_user)
        token.delete()
