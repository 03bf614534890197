"""The sign-in pages: the login page (password form and/or "Sign in with <provider>"), the
admin's login, and the two steps of the OpenID provider's code flow (mozilla-django-oidc's
views, with the endpoints from discovery and failures sent back to the login page)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from remediation.accounts.backends import DiscoveryError, oidc_setting

logger = logging.getLogger(__name__)


def sign_in_context() -> dict[str, Any]:
    return {
        "oidc_enabled": settings.OIDC_ENABLED,
        "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        "local_login_enabled": settings.LOCAL_LOGIN_ENABLED,
    }


def _password_refused(request: HttpRequest) -> HttpResponse:
    context = {**sign_in_context(), "next": request.POST.get("next", ""), "refused": True}
    return render(request, "registration/login.html", context, status=403)


class SignInView(auth_views.LoginView):
    """Django's login page, with the provider's button when configured; while
    ``LOCAL_LOGIN_ENABLED`` is false the password form is gone and its POST refused (403)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.LOCAL_LOGIN_ENABLED:
            return _password_refused(request)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(sign_in_context())
        context["oidc_failed"] = self.request.GET.get("oidc") == "failed"
        return context


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login: the admin's own while passwords are allowed; otherwise the login
    page (GET) and a refusal (POST)."""
    if settings.LOCAL_LOGIN_ENABLED:
        return admin.site.login(request)
    if request.method == "POST":
        return _password_refused(request)
    if request.user.is_authenticated:
        # Signed in but not staff: the admin's own page says so.
        return admin.site.login(request)
    target = request.GET.get("next") or "/admin/"
    return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': target})}")


def _failed() -> HttpResponse:
    return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL_FAILURE)


class OidcSignInStart(OIDCAuthenticationRequestView):  # type: ignore[misc]  # untyped library
    """Off to the provider's authorization endpoint (state, nonce and PKCE kept in the
    session); 404 while OIDC is not configured."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads the endpoints here; they are read in get(), where a provider
        # that cannot be reached can be answered.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Sign-in through an OpenID provider is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except DiscoveryError as exc:
            logger.warning("OpenID provider unreachable: %s", str(exc)[:300])
            return _failed()
        response: HttpResponse = super().get(request)
        return response


class OidcSignInCallback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """Back from the provider: the code is exchanged and the person signed in (or sent back
    to the login page, which says the sign-in failed)."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Sign-in through an OpenID provider is not configured.")
        response: HttpResponse = super().get(request)
        return response

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        # Bounded, so the provider's groups are read again within OIDC_SESSION_SECONDS.
        if settings.OIDC_SESSION_SECONDS:
            self.request.session.set_expiry(int(settings.OIDC_SESSION_SECONDS))
        return response
