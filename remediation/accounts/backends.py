"""How people sign in to the pages: a local password, or the OpenID provider.

``LocalPasswordBackend`` is Django's own, refused while ``LOCAL_LOGIN_ENABLED`` is false
(sessions it made end then too). ``OidcBackend`` is mozilla-django-oidc's code flow (state,
nonce, PKCE, the ID token's signature checked against the provider's published keys), with
the provider's endpoints from its discovery document, and three things the library leaves
to its user: the token's issuer and audience are checked, the person is matched on issuer
and subject only (``remediation.accounts.rules``), and their groups here are set from the
groups claim at every sign-in (``services.oidc_sign_in``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from remediation.accounts import services
from remediation.accounts.rules import ClaimError, identity_label, read_sign_in

logger = logging.getLogger(__name__)

# mozilla-django-oidc's endpoint settings, and the discovery document's field for each.
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_TTL_SECONDS = 3600
MAX_DISCOVERY_BYTES = 256 * 1024


class DiscoveryError(RuntimeError):
    """The provider's discovery document could not be read, or does not fit."""


_discovery: dict[str, Any] = {}
_discovery_lock = threading.Lock()


def discovery() -> dict[str, str]:
    """The provider's endpoints from ``<OIDC_ISSUER>/.well-known/openid-configuration``,
    kept for an hour per process. Its ``issuer`` must be ``OIDC_ISSUER`` exactly (OpenID
    Connect Discovery 1.0, 4.3) and each endpoint an http(s) URL."""
    issuer = settings.OIDC_ISSUER
    with _discovery_lock:
        cached = _discovery.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return dict(cached[1])
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        if len(response.content) > MAX_DISCOVERY_BYTES:
            raise DiscoveryError(f"{url}: larger than {MAX_DISCOVERY_BYTES} bytes")
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(f"{url}: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise DiscoveryError(f"{url}: its issuer is not OIDC_ISSUER ({issuer})")
    endpoints: dict[str, str] = {}
    for setting, field in ENDPOINTS.items():
        value = document.get(field)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise DiscoveryError(f"{url}: no usable {field}")
        endpoints[setting] = value
    with _discovery_lock:
        _discovery[issuer] = (time.monotonic() + DISCOVERY_TTL_SECONDS, endpoints)
    return dict(endpoints)


def forget_discovery() -> None:
    """Read the discovery document again at the next sign-in (tests, a changed issuer)."""
    with _discovery_lock:
        _discovery.clear()


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, the endpoints from the discovery document."""
    if attr in ENDPOINTS:
        return discovery()[attr]
    return import_from_settings(attr, *args)


class LocalPasswordBackend(ModelBackend):
    """Django's username and password, while ``LOCAL_LOGIN_ENABLED`` is true."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: int) -> User | None:  # type: ignore[override]
        # A password session ends once password sign-in is turned off.
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().get_user(user_id)  # type: ignore[return-value]


class OidcBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library is untyped
    """The OpenID provider's code flow; nothing while OIDC is not configured."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django makes a backend for every request that has a session: nothing here may
        # reach the network (the library's own __init__ reads the endpoints).
        self.UserModel = User
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return str(oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return str(oidc_setting("OIDC_OP_USER_ENDPOINT"))

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return str(oidc_setting("OIDC_OP_JWKS_ENDPOINT"))

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not settings.OIDC_ENABLED or request is None or "username" in kwargs:
            return None
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except (requests.RequestException, DiscoveryError, SuspiciousOperation) as exc:
            # The provider unreachable or answering nonsense, a bad signature or nonce: the
            # sign-in fails (the login page says so), never a 500.
            logger.warning("OpenID sign-in failed: %s", str(exc)[:300])
            return None
        return user

    def get_user(self, user_id: int) -> User | None:
        if not settings.OIDC_ENABLED:
            return None
        # The identity comes along, so the audit trail can name it without another query. An
        # inactive user's sessions end, as Django's own backend ends them.
        return (
            User.objects.select_related("oidc_identity").filter(pk=user_id, is_active=True).first()
        )

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        try:
            sign_in = read_sign_in(
                payload,
                userinfo,
                issuer=settings.OIDC_ISSUER,
                client_id=settings.OIDC_CLIENT_ID,
                groups_claim=settings.OIDC_GROUPS_CLAIM,
                group_map=settings.OIDC_GROUP_MAP,
            )
        except ClaimError as exc:
            sub = payload.get("sub") if isinstance(payload, dict) else None
            identity = None
            if isinstance(sub, str) and len(sub) <= 255 and sub.isprintable():
                identity = identity_label(settings.OIDC_ISSUER, sub)
            services.oidc_sign_in_refused(str(exc), identity=identity)
            logger.warning("OpenID sign-in refused: %s", exc)
            return None
        return services.oidc_sign_in(sign_in)
