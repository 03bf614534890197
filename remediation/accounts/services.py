"""Making and revoking API tokens; signing in through the OpenID provider. Each is audited
in the same transaction.

The key exists only in the return value of ``api_token_create``: the database keeps its
digest and its first characters, so whoever asked for it must hand it on at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from remediation.accounts.models import ApiToken, OidcIdentity
from remediation.accounts.rules import SignIn
from remediation.audit.models import AuditAction
from remediation.audit.services import audit

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


# --- Sign-in through the OpenID provider (docs/security.md, "Signing in") -----------------

_USERNAME_BASE = re.compile(r"[^A-Za-z0-9._-]+")


def _new_username(sign_in: SignIn) -> str:
    """A unique, readable username for someone new: a display name made safe, then a digest
    of issuer and subject (so nobody can take another's name by choosing their e-mail)."""
    base = _USERNAME_BASE.sub("", (sign_in.email.split("@")[0] or sign_in.name))[:40] or "oidc"
    digest = hashlib.sha256(sign_in.identity.encode()).hexdigest()
    return f"{base}-{digest[:10]}"


def oidc_sign_in(sign_in: SignIn) -> User | None:
    """The user ``sign_in`` names (by issuer and subject), made at their first sign-in, with
    their display fields and this system's groups set from the provider's answer: the
    managed groups (``OIDC_MANAGED_GROUPS``) are added AND removed, so a person taken out of
    the provider's group loses what it gave them here now. Audited (``account.signed_in``,
    naming ``oidc:<issuer>#<subject>``) in the same transaction. Refused (None, audited)
    for an inactive user."""
    now = timezone.now()
    managed = set(settings.OIDC_MANAGED_GROUPS)
    with transaction.atomic():
        identity = (
            OidcIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=sign_in.issuer, subject=sign_in.subject)
            .first()
        )
        created = identity is None
        if identity is None:
            user = User.objects.create_user(
                _new_username(sign_in), email=sign_in.email, first_name=sign_in.name[:150]
            )
            identity = OidcIdentity.objects.create(
                user=user, issuer=sign_in.issuer, subject=sign_in.subject
            )
        user = identity.user
        if not user.is_active:
            audit(
                AuditAction.SIGN_IN_REFUSED,
                f"Sign-in of inactive user {user.get_username()} refused",
                acting_user=user,
                details={"identity": sign_in.identity, "reason": "inactive"},
            )
            return None
        user.email = sign_in.email
        user.first_name = sign_in.name[:150]
        user.last_login = now
        user.save(update_fields=["email", "first_name", "last_login"])
        identity.last_sign_in_at = now
        identity.idp_groups = list(sign_in.idp_groups)
        identity.save(update_fields=["last_sign_in_at", "idp_groups"])
        held = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
        wanted = set(sign_in.groups) & managed
        added, removed = sorted(wanted - held), sorted(held - wanted)
        if removed:
            user.groups.remove(*Group.objects.filter(name__in=removed))
        if added:
            user.groups.add(*Group.objects.filter(name__in=added))
        changes = ", ".join([*(f"+{g}" for g in added), *(f"-{g}" for g in removed)])
        audit(
            AuditAction.SIGNED_IN,
            f"{user.get_username()} signed in through the OpenID provider"
            + (" (new user)" if created else "")
            + (f"; groups {changes}" if changes else ""),
            acting_user=user,
            details={
                "identity": sign_in.identity,
                "new_user": created,
                "groups": sorted(wanted),
                "added": added,
                "removed": removed,
                "idp_groups": list(sign_in.idp_groups[:50]),
            },
        )
    return user


def oidc_sign_in_refused(reason: str, *, identity: str | None = None) -> None:
    """Record a sign-in the provider vouched for (a verified token) that was refused."""
    with transaction.atomic():
        audit(
            AuditAction.SIGN_IN_REFUSED,
            f"OpenID sign-in refused: {reason[:200]}",
            details={"identity": identity, "reason": reason[:500]},
        )
