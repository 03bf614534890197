"""Shared API building blocks: pagination and input fields that refuse hostile text."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.fields import Field, SkipField
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.relations import PKOnlyObject
from rest_framework.request import Request
from rest_framework.utils.serializer_helpers import BindingDict

from config import errors

# C0 control characters other than tab, newline and carriage return, plus DEL. NUL is among
# them: PostgreSQL cannot store it in text and logs/terminals misrender the rest.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")


# What a text field may hold, as a pattern the OpenAPI schema also publishes: no control
# characters (single-line fields also no tab/newline) and at least one visible character.
_SINGLE_LINE_CHAR = r"[^\x00-\x1f\x7f]"
_MULTILINE_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# Visible: not whitespace, not a control character, and not one of the characters that
# render as nothing (zero-width and bidi marks, soft hyphen, word joiners, BOM, Hangul and
# Braille blanks, lone combining marks): a title made only of those is refused.
_INVISIBLE = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\u0300-\u036f"
)
_VISIBLE_CHAR = rf"[^\s\x00-\x1f\x7f{_INVISIBLE}]"
MAX_PAGE = 1_000_000
# Ticket categories (server, network, cache, storage, ...): stored in lowercase.
CATEGORY_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,49}$"
MAX_PAGE_SIZE = 200
MAX_CURSOR = 500


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class KeysetPagination(CursorPagination):
    """Newest first, page by page, by position instead of OFFSET and without COUNT(*).

    On a table of a million rows the exact count of ``PageNumberPagination`` costs more
    than the page itself, and OFFSET grows with the page number; a cursor (an opaque
    position in ``ordering``) keeps every page as cheap as the first. A cursor that does
    not decode names no position: 404 naming ``cursor``, as for an unknown id.
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request: Any) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise errors.NotFound(
                "Invalid cursor: use a next or previous link of an earlier page.",
                fields={self.cursor_query_param: ["Invalid cursor."]},
            ) from None


class PageQuerySerializer(serializers.Serializer):
    """The pagination query parameters, validated (400) and published in the schema."""

    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)


def cursor_paginated(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a page of ``item`` from ``KeysetPagination`` (no count)."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


def paginated(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a page of ``item``: what ``Pagination.get_paginated_response`` returns."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


class SafeCharField(serializers.CharField):
    """A CharField that refuses NUL bytes and control characters with a clear reason.

    ``multiline`` allows newlines and tabs (descriptions, comments); single-line fields
    (ids, titles, names) refuse them too. ``regex`` narrows a field further (ids, names).
    The value is taken as sent, not trimmed, so that what the published schema says
    (pattern, maxLength) is exactly what is accepted.
    """

    default_error_messages = {
        "control_characters": "Must not contain NUL bytes or control characters.",
        "no_text": "Must contain at least one visible character.",
    }

    def __init__(
        self,
        *,
        multiline: bool = False,
        regex: str | None = None,
        regex_message: str = "Invalid format.",
        **kwargs: Any,
    ) -> None:
        self.multiline = multiline
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)
        if regex is None:
            char = _MULTILINE_CHAR if multiline else _SINGLE_LINE_CHAR
            regex = f"^{char}*{_VISIBLE_CHAR}{char}*$"
            regex_message = str(self.error_messages["no_text"])
        if self.allow_blank:
            regex = f"^$|{regex}"
        self.validators.append(RegexValidator(regex, regex_message, code="invalid"))

    def to_internal_value(self, data: Any) -> str:
        # Refuse non-strings outright: CharField would otherwise turn 5 or True into "5".
        if not isinstance(data, str):
            self.fail("invalid")
        pattern = _CONTROL if self.multiline else _CONTROL_SINGLE_LINE
        if pattern.search(data):
            self.fail("control_characters")
        return super().to_internal_value(data)


class CursorQuerySerializer(serializers.Serializer):
    """The query parameters of ``KeysetPagination``: an opaque ``cursor`` taken from a
    previous answer's ``next``/``previous`` link, and ``page_size``."""

    cursor = SafeCharField(
        max_length=MAX_CURSOR,
        required=False,
        regex=r"^[A-Za-z0-9+/=]+$",
        regex_message="Not a cursor: use a next or previous link of an earlier page.",
        help_text="Opaque, from an earlier page's next/previous link.",
    )
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)


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
    """drf-spectacular ``responses`` entries for the error codes an endpoint can answer.

    An endpoint that takes a body lists 413 (over the body limit); it can also answer 411
    (a chunked body the server did not read, see ``config.middleware``), listed with it.
    """
    if 413 in codes and 411 not in codes:
        codes = (*codes, 411)
    return dict.fromkeys(sorted(codes), ErrorSerializer)


class CachedFieldsMixin:
    """Build an output serializer's fields once per class, not once per instance.

    DRF rebuilds a ModelSerializer's fields for every instance (model introspection and a
    deep copy of each declared field): for the 30-field ticket that is about 1.5 ms of every
    answer. Here the first instance builds them and binds them (their names, labels and
    sources); later instances take shallow copies pointed at themselves (nested serializers
    are deep-copied and bound, as DRF does). Only for serializers whose fields do not depend
    on the request: the output serializers.

    ``to_representation`` reads a plain field's one attribute directly (what DRF's
    ``get_attribute`` does for a model's data attribute); anything else (a dotted source, a
    callable, a relation, a method field, an error) goes through DRF's own path.
    """

    _fields_template: dict[str, Any] | None = None
    _bound_template: dict[str, Any] | None = None

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()  # type: ignore[misc]
            cls._fields_template = template
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else _shallow_copy(field)
            for name, field in template.items()
        }

    @cached_property
    def fields(self) -> BindingDict:
        cls = type(self)
        bound = cls.__dict__.get("_bound_template")
        if bound is None:
            bound = self.get_fields()
            for name, field in bound.items():
                field.bind(field_name=name, parent=self)
                field.parent = None  # the template belongs to no instance
            cls._bound_template = bound
        fields = BindingDict(self)  # type: ignore[arg-type]  # mixed into a serializer
        for name, field in bound.items():
            if isinstance(field, serializers.BaseSerializer):
                fields[name] = copy.deepcopy(field)  # unbound again: bound by the setter
            else:
                twin = _shallow_copy(field)
                twin.parent = self
                fields.fields[name] = twin  # bound already: only its parent is ours
        return fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Mapping):
            return super().to_representation(instance)  # type: ignore[misc,no-any-return]
        answer: dict[str, Any] = {}
        for field in self.fields.fields.values():
            if field.write_only:
                continue
            attrs = field.source_attrs
            direct = len(attrs) == 1 and type(field).get_attribute is Field.get_attribute
            try:
                if not direct:
                    raise LookupError
                attribute = getattr(instance, attrs[0])
                if callable(attribute):
                    raise LookupError
            except Exception:  # DRF's path says what is wrong, or skips the field
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            if isinstance(attribute, PKOnlyObject):
                present = attribute.pk is not None
            else:
                present = attribute is not None
            value = field.to_representation(attribute) if present else None
            answer[field.field_name] = value  # type: ignore[index]  # bound: named
        return answer


def _shallow_copy(field: Any) -> Any:
    """``copy.copy(field)`` for a DRF field (a plain object: its ``__dict__`` is its state),
    without the pickling protocol's detour (``__reduce_ex__``): a fifth of the time, for
    each of an answer's 30-odd fields."""
    twin = object.__new__(type(field))
    twin.__dict__.update(field.__dict__)
    return twin


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


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: refuses "5", 5.5 and true, which IntegerField would coerce. 5.0 is
    accepted, as JSON Schema counts it an integer."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if isinstance(data, float) and not (math.isfinite(data) and data.is_integer()):
            self.fail("invalid")
        return super().to_internal_value(int(data))


class StrictBooleanField(serializers.BooleanField):
    """true or false in JSON; refuses "yes", 1 and the like, which BooleanField would take."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class FiniteFloatField(serializers.FloatField):
    """A JSON number that is finite (no NaN or Infinity, which Python's json accepts)."""

    default_error_messages = {"not_finite": "Must be a finite number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if not math.isfinite(float(data)):
            self.fail("not_finite")
        return super().to_internal_value(data)


# Bodies written by software we do not control (Alertmanager adds keys between releases):
# unknown keys are ignored there, not refused, and the schema says so.
LENIENT_REQUEST_COMPONENTS = frozenset({"AlertmanagerWebhookRequest", "AlertRequest"})


def forbid_unknown_request_fields(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: request bodies refuse unknown keys (``StrictInputMixin``), and
    the published schema says so."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name in LENIENT_REQUEST_COMPONENTS:
            continue
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


# --- Permissions -------------------------------------------------------------------------


def require_permission(perm: str) -> type[BasePermission]:
    """A DRF permission class: authenticated and holding ``perm`` (``app_label.codename``).

    Superusers hold every permission; others through a group (Approvers hold the pattern
    and statistics permission by default) or a direct grant, e.g. to an integration.
    """

    class HasPermission(BasePermission):
        message = f"This needs the permission {perm}."

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(perm))

    HasPermission.__name__ = f"Has_{perm.replace('.', '_')}"
    return HasPermission


PATTERN_STATS_PERMISSION = "patterns.view_pattern_stats"
