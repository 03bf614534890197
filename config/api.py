"""Shared API building blocks: pagination and input fields that refuse hostile text."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

# C0 control characters other than tab, newline and carriage return, plus DEL. NUL is among
# them: PostgreSQL cannot store it in text and logs/terminals misrender the rest.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class SafeCharField(serializers.CharField):
    """A CharField that refuses NUL bytes and control characters with a clear reason.

    ``multiline`` allows newlines and tabs (descriptions, comments); single-line fields
    (ids, titles, names) refuse them too.
    """

    default_error_messages = {
        "control_characters": "Must not contain NUL bytes or control characters.",
    }

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # Refuse non-strings outright: CharField would otherwise turn 5 or True into "5".
        if not isinstance(data, str):
            self.fail("invalid")
        pattern = _CONTROL if self.multiline else _CONTROL_SINGLE_LINE
        if pattern.search(data):
            self.fail("control_characters")
        return super().to_internal_value(data)


def contains_control_characters(value: str, *, multiline: bool = True) -> bool:
    return bool((_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(value))


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # DRF's metaclass moves declared fields out of the class, so this name is safe here.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer (see config.errors)."""

    error = ErrorDetailSerializer()


def error_responses(*codes: int) -> dict[int, Any]:
    """drf-spectacular ``responses`` entries for the error codes an endpoint can answer."""
    return dict.fromkeys(codes, ErrorSerializer)


class StrictInputMixin:
    """Refuse keys the endpoint does not know, naming them: a caller who sends
    ``submitted_by`` or a misspelt field learns it had no effect instead of being ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError(
                    {name[:100]: ["Unknown field."] for name in unknown[:20]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]
