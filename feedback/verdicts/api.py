"""POST /api/v1/feedback: a person's verdict on a ticket's resolution."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    FiniteFloatField,
    SafeCharField,
    StrictBooleanField,
    StrictInputMixin,
    StrictIntegerField,
    contains_control_characters,
    error_responses,
)
from feedback.models import MAX_TIME_TO_RESOLVE_MINUTES, Feedback, FeedbackType
from feedback.verdicts.access import ticket_for_feedback
from feedback.verdicts.services import FeedbackInput, feedback_submit

MAX_TEXT = 5_000
MAX_RESOLUTION_TEXT = 10_000
MAX_ACTIONS_TAKEN = 20
MAX_ACTION_TEXT = 500
MAX_ACTION_PARAMS = 20
MAX_NAME = 200
ACTION_KEYS = frozenset({"operation", "system", "params", "action"})


def _short_text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise serializers.ValidationError(f"{name} must be a string.")
    if contains_control_characters(value, multiline=False):
        raise serializers.ValidationError(f"{name} must not contain control characters.")
    if len(value) > limit:
        raise serializers.ValidationError(f"{name} must be at most {limit} characters.")
    return value.strip()


# The same rules as _short_text, published in the schema (JSON Schema spells \x as \u00).
_LINE = "^[^\\u0000-\\u001f\\u007f]*$"
_VISIBLE_LINE = "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": 500, "pattern": _VISIBLE_LINE},
            {
                "type": "object",
                "required": ["operation"],
                "properties": {
                    "operation": {"type": "string", "maxLength": 64, "pattern": _LINE},
                    "system": {"type": "string", "maxLength": 200, "pattern": _LINE},
                    "action": {"type": "string", "maxLength": 500, "pattern": _LINE},
                    "params": {
                        "type": "object",
                        "maxProperties": 20,
                        "propertyNames": {"maxLength": 64, "pattern": _LINE},
                        "additionalProperties": {
                            "oneOf": [
                                {"type": "string", "maxLength": 500, "pattern": _LINE},
                                {"type": "number"},
                                {"type": "boolean"},
                                {"type": "null"},
                            ],
                        },
                    },
                },
                "additionalProperties": False,
            },
        ]
    }
)
class ActionTakenField(serializers.Field):
    """One thing the person did: a sentence (≤500 chars), or an object
    ``{"operation": "<catalogue key>", "system": "<target>", "params": {...}, "action": "..."}``
    where only ``operation`` is required. Objects are kept as given; only those that pass the
    catalogue can become a learned runbook."""

    def to_internal_value(self, data: Any) -> str | dict[str, Any]:
        if isinstance(data, str):
            text = _short_text(data, "An action", MAX_ACTION_TEXT)
            if not text:
                raise serializers.ValidationError("An action must not be blank.")
            return text
        if not isinstance(data, Mapping):
            raise serializers.ValidationError("Each action must be a string or an object.")
        unknown = sorted(str(k)[:40] for k in data if k not in ACTION_KEYS)
        if unknown:
            raise serializers.ValidationError(f"Unknown keys: {', '.join(unknown)}.")
        if "operation" not in data:
            raise serializers.ValidationError("operation is required.")
        item: dict[str, Any] = {"operation": _short_text(data["operation"], "operation", 64)}
        for key, limit in (("system", MAX_NAME), ("action", MAX_ACTION_TEXT)):
            if data.get(key) is not None:
                item[key] = _short_text(data[key], key, limit)
        params = data.get("params")
        if params is not None:
            if not isinstance(params, Mapping):
                raise serializers.ValidationError("params must be an object.")
            if len(params) > MAX_ACTION_PARAMS:
                raise serializers.ValidationError(
                    f"params may have at most {MAX_ACTION_PARAMS} keys."
                )
            clean: dict[str, Any] = {}
            for key, value in params.items():
                name = _short_text(key, "A param name", 64)
                if isinstance(value, str):
                    value = _short_text(value, f"param {name}", MAX_ACTION_TEXT)
                elif isinstance(value, float) and not math.isfinite(value):
                    raise serializers.ValidationError(f"param {name} must be finite.")
                elif value is not None and not isinstance(value, bool | int | float):
                    raise serializers.ValidationError(
                        f"param {name} must be a string, number, boolean or null."
                    )
                clean[name] = value
            item["params"] = clean
        return item

    def to_representation(self, value: Any) -> Any:
        return value


def _text(limit: int) -> SafeCharField:
    return SafeCharField(
        multiline=True, max_length=limit, required=False, allow_blank=True, allow_null=True
    )


class FeedbackCreateApi(APIView):
    @extend_schema_serializer(component_name="FeedbackInput")
    class InputSerializer(StrictInputMixin, serializers.Serializer):
        ticket_id = SafeCharField(max_length=64)
        feedback_type = serializers.ChoiceField(choices=FeedbackType.choices)
        rating = StrictIntegerField(min_value=1, max_value=5)
        was_helpful = StrictBooleanField(required=False, allow_null=True)
        resolution_accurate = StrictBooleanField(required=False, allow_null=True)
        actions_worked = StrictBooleanField(required=False, allow_null=True)
        comment = _text(MAX_TEXT)
        what_worked = _text(MAX_TEXT)
        what_didnt_work = _text(MAX_TEXT)
        suggestions = _text(MAX_TEXT)
        actual_resolution = _text(MAX_RESOLUTION_TEXT)
        actual_actions_taken = serializers.ListField(
            child=ActionTakenField(), max_length=MAX_ACTIONS_TAKEN, required=False, allow_null=True
        )
        time_to_resolve = FiniteFloatField(
            min_value=0.0, max_value=MAX_TIME_TO_RESOLVE_MINUTES, required=False, allow_null=True
        )

    @extend_schema_serializer(component_name="Feedback")
    class OutputSerializer(serializers.ModelSerializer):
        ticket_id = serializers.CharField(source="ticket.ticket_id")
        user = serializers.CharField(source="user.get_username")
        ticket_outcome = serializers.CharField(source="ticket.outcome")
        ticket_reliability_score = serializers.FloatField(
            source="ticket.reliability_score", allow_null=True
        )
        actual_actions_taken = serializers.JSONField()

        class Meta:
            model = Feedback
            fields = [
                "id",
                "ticket_id",
                "user",
                "feedback_type",
                "rating",
                "was_helpful",
                "resolution_accurate",
                "actions_worked",
                "comment",
                "what_worked",
                "what_didnt_work",
                "suggestions",
                "actual_resolution",
                "actual_actions_taken",
                "time_to_resolve",
                "created_at",
                "trusted",
                "ticket_outcome",
                "ticket_reliability_score",
            ]
            read_only_fields = fields

    @extend_schema(
        operation_id="feedback_create",
        summary="Submit feedback on a ticket's resolution",
        request=InputSerializer,
        responses={201: OutputSerializer, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ticket = ticket_for_feedback(request.user, data.pop("ticket_id"))
        # null and absent mean the same: nothing said.
        texts = ("comment", "what_worked", "what_didnt_work", "suggestions", "actual_resolution")
        for name in texts:
            data[name] = data.get(name) or ""
        data["actual_actions_taken"] = data.get("actual_actions_taken") or []
        # Authenticated by the default permission class, so a real user.
        user = cast(User, request.user)
        # The answer is built from what the service has in memory (feedback.ticket is the
        # updated ticket): no re-read.
        feedback = feedback_submit(ticket=ticket, user=user, data=FeedbackInput(**data))
        return Response(self.OutputSerializer(feedback).data, status=status.HTTP_201_CREATED)
