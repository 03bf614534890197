"""API tokens in the admin: listed by name, user, prefix, creation and expiry; made with
their key shown once on the answer page (stored nowhere); revoked by deleting them.

The digest is never shown: a token is named by its prefix. Tokens are not edited: a token
for a different use or lifetime is a new token. Adding and revoking are audited
(``remediation.accounts.services``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from remediation.accounts.models import ApiToken, OidcIdentity
from remediation.accounts.services import MAX_DAYS, api_token_create, api_token_revoke


class ApiTokenAddForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=0,
        max_value=MAX_DAYS,
        help_text="Days until the token expires; 0: never.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.API_TOKEN_TTL_DAYS

    def clean_user(self) -> Any:
        user = self.cleaned_data["user"]
        if user is not None and not user.is_active:
            raise ValidationError("This user is inactive: a token of theirs would not work.")
        return user


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created", "expires", "state")
    list_select_related = ("user",)
    search_fields = ("name", "token_key", "user__username")
    raw_id_fields = ("user",)
    date_hierarchy = "created"
    actions = ["delete_selected"]

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, token: ApiToken) -> str:
        return f"{token.token_key}…"

    @admin.display(description="expires", ordering="expiry")
    def expires(self, token: ApiToken) -> Any:
        return token.expiry or "never"

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return "expired" if token.is_expired() else "active"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "days")
        return ("name", "user", "prefix", "created", "expires", "state")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
            kwargs["fields"] = ["user", "name"]
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        token, key = api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
        # The admin goes on with ``obj`` (its log entry, the answer): make it the stored row.
        obj.digest, obj.token_key, obj.name = token.digest, token.token_key, token.name
        obj.created, obj.expiry = token.created, token.expiry
        obj._state.adding = False
        obj._state.db = token._state.db
        obj.shown_once_key = key  # for response_add, on this object only; never saved

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
            "key": obj.shown_once_key,
        }
        response = TemplateResponse(request, "admin/remediation/apitoken/created.html", context)
        add_never_cache_headers(response)  # the key must not stay in any cache
        return response

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        api_token_revoke(obj, acting_user=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("user"):
            api_token_revoke(token, acting_user=request.user)  # type: ignore[arg-type]


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):
    """Who signs in through the OpenID provider: read-only here, written at each sign-in.
    Deleting one makes the provider's next sign-in of that subject a new user."""

    list_display = ("user", "issuer", "subject", "last_sign_in_at")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "created_at", "last_sign_in_at", "idp_groups")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
