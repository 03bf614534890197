"""GET/PUT /api/v1/kill-switch: the live kill switch, for integrations and on-call tools.

Needs ``policies.pause_remediation`` (its own permission; staff and superusers hold it only
when granted, superusers always). The same services as the admin."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    CATEGORY_REGEX,
    SafeCharField,
    StrictBooleanField,
    StrictInputMixin,
    error_responses,
    require_permission,
)
from policies.categories import category_uses, known_categories
from policies.models import PAUSE_ALL, PAUSE_PERMISSION, RemediationPause
from policies.rules.category import normalize_category
from policies.services import remediation_pause, remediation_resume


class PauseSerializer(serializers.ModelSerializer):
    category = serializers.CharField(
        allow_null=True, help_text="The category paused; null: every category."
    )
    paused_by = serializers.CharField(source="paused_by.username", allow_null=True)

    class Meta:
        model = RemediationPause
        fields = ["category", "reason", "paused_by", "paused_at"]

    def to_representation(self, instance: RemediationPause) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["category"] = instance.category or None
        return data


class AppliedSerializer(serializers.Serializer):
    paused = serializers.BooleanField(help_text="What was asked: true pause, false resume.")
    category = serializers.CharField(
        allow_null=True,
        help_text="The category as tickets store it (lowercase), which the pause matches "
        "exactly; null: every category.",
    )
    matches = serializers.ListField(
        child=serializers.CharField(),
        help_text="What names that category now (policies, alert mappings, tickets…); "
        "empty for every category.",
    )
    changed = serializers.BooleanField(
        help_text="false: it was paused (or not paused) already; nothing changed."
    )


class KillSwitchSerializer(serializers.Serializer):
    applied = AppliedSerializer(
        required=False, help_text="PUT only: what the request did, and what it matches."
    )
    environment_enabled = serializers.BooleanField(
        help_text="AUTO_REMEDIATION_ENABLED: when false nothing runs, whatever the switch says."
    )
    paused = PauseSerializer(many=True, help_text="Pauses in force, every category first.")


class KillSwitchInputSerializer(StrictInputMixin, serializers.Serializer):
    paused = StrictBooleanField(help_text="true: pause; false: resume.")
    category = SafeCharField(
        max_length=50,
        required=False,
        allow_null=True,
        regex=CATEGORY_REGEX,
        regex_message="Must be a category: letters, digits, hyphens, underscores.",
        help_text="The category to pause or resume (compared in lowercase, as tickets "
        "store it); omitted or null: every category. A pause of a category that no policy, "
        "alert mapping, runbook, ticket or execution names is refused (a typo would stop "
        "nothing) unless allow_unknown_category is true.",
    )
    allow_unknown_category = StrictBooleanField(
        default=False,
        help_text="Pause a category nothing names yet (e.g. ahead of a new alert source).",
    )
    reason = SafeCharField(
        max_length=500,
        required=False,
        multiline=True,
        help_text="Why (required to pause).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["paused"] and not attrs.get("reason"):
            raise serializers.ValidationError({"reason": ["Required to pause."]})
        category = normalize_category(attrs.get("category") or "")
        attrs["category"] = category
        attrs["uses"] = category_uses(category) if category else []
        if (
            attrs["paused"]
            and category
            and not attrs["uses"]
            and not attrs["allow_unknown_category"]
        ):
            known = known_categories()
            close = difflib.get_close_matches(category, known, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise serializers.ValidationError(
                {
                    "category": [
                        f"No policy, alert mapping, runbook, ticket or execution names category "
                        f"{category!r}, so this pause would stop nothing.{hint} Known: "
                        f"{', '.join(known) or 'none'}. Send allow_unknown_category: true to "
                        "pause it anyway."
                    ]
                }
            )
        return attrs


def _state() -> dict[str, Any]:
    return {
        "environment_enabled": bool(settings.AUTO_REMEDIATION_ENABLED),
        "paused": list(RemediationPause.objects.select_related("paused_by")),
    }


class KillSwitchApi(APIView):
    permission_classes = [require_permission(PAUSE_PERMISSION)]

    @extend_schema(
        operation_id="kill_switch_read",
        responses={200: KillSwitchSerializer, **error_responses(401, 403)},
        summary="The live kill switch: pauses in force, and the environment's floor",
    )
    def get(self, request: Request) -> Response:
        return Response(KillSwitchSerializer(_state()).data)

    @extend_schema(
        operation_id="kill_switch_set",
        request=KillSwitchInputSerializer,
        responses={200: KillSwitchSerializer, **error_responses(400, 401, 403)},
        summary="Pause or resume auto-remediation, everywhere or for one category",
        description="Takes effect at the next decision and the next execution claim, without "
        "a restart; an execution already claimed finishes (its steps are one write each). "
        "Audited (remediation.paused / remediation.resumed). Pausing what is paused, or "
        "resuming what is not, changes nothing. Resuming cannot lift "
        "AUTO_REMEDIATION_ENABLED=false.",
    )
    def put(self, request: Request) -> Response:
        body = KillSwitchInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = body.validated_data["category"] or PAUSE_ALL
        paused = body.validated_data["paused"]
        if paused:
            changed = remediation_pause(
                category=category,
                reason=body.validated_data["reason"],
                user=request.user,  # type: ignore[arg-type]
            ).created
        else:
            changed = remediation_resume(category=category, user=request.user)  # type: ignore[arg-type]
        state = _state()
        state["applied"] = {
            "paused": paused,
            "category": category or None,
            "matches": body.validated_data["uses"],
            "changed": changed,
        }
        return Response(KillSwitchSerializer(state).data, status=status.HTTP_200_OK)
