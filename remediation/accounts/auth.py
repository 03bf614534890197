"""``Authorization: Token <key>`` against the hashed tokens, refusing bad input with 401.

django-rest-knox's ``TokenAuthentication`` with the header read defensively: a header that
is not latin-1, holds NUL bytes, is huge, or has spaces in the key is a 401 naming the
reason, never a 500. An expired token is refused with its own code (``token_expired``,
said only to a caller holding the real key) and kept, so the admin still lists it; a
revoked (deleted) token is no token.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.request import Request

from remediation.accounts.models import ApiToken
from remediation.accounts.selectors import api_token_for_key


class ApiTokenAuthentication(TokenAuthentication):  # type: ignore[misc]  # knox is untyped
    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        parts = str(header).split()
        if not parts or parts[0].lower() != str(self.authenticate_header(request)).lower():
            return None  # no header, or one for another scheme
        if len(parts) == 1:
            raise exceptions.AuthenticationFailed("Invalid token header: no key after 'Token'.")
        if len(parts) > 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key must not contain spaces."
            )
        return self.authenticate_credentials(parts[1])

    def authenticate_credentials(self, key: str | bytes) -> tuple[Any, ApiToken]:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.is_expired():
            raise exceptions.AuthenticationFailed(
                "Token expired: ask an administrator for a new one.", code="token_expired"
            )
        user, _ = self.validate_user(token)
        return user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[misc]
    """The schema's security scheme for these tokens, under the name it always had."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(  # type: ignore[no-any-return]
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
