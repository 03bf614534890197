"""API tokens, stored hashed.

A token is a random key given to its holder once; the table keeps the key's SHA-512 digest
(the primary key) and its first 15 characters (``token_key``, to find the row and to tell
tokens apart in the admin), never the key itself. Each token says what it is for
(``name``) and when it stops working (``expiry``; empty: never). ``KNOX_TOKEN_MODEL``
names this model, so django-rest-knox's authentication and manager use it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken

# One line of visible text: no control characters, at least one non-space character.
NAME_VALIDATOR = RegexValidator(
    r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\Z",
    "Name the token's use in one line of text (no control characters).",
)
NAME_MAX_LENGTH = 100


class ApiToken(AbstractAuthToken):  # type: ignore[misc]  # knox is untyped
    name = models.CharField(
        max_length=NAME_MAX_LENGTH,
        validators=[NAME_VALIDATOR],
        help_text="What the token is for, e.g. alertmanager.",
    )

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expiry is not None and self.expiry <= (now or timezone.now())


class OidcIdentity(models.Model):
    """Who a user is at an OpenID provider: the ID token's issuer and subject, the only
    thing a sign-in is matched on (docs/security.md, "Signing in"). E-mail and name are
    copied to the user for display at every sign-in, never used to find anyone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    # The provider's groups at the last sign-in, as read (bounded): what the admin shows.
    idp_groups = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "OpenID Connect identity"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")
        ]

    def __str__(self) -> str:
        return f"oidc:{self.issuer}#{self.subject}"
