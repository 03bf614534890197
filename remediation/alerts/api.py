"""``POST /api/v1/alerts/alertmanager``: Alertmanager's webhook (payload version 4).

Two levels of checking, so that one odd alert never loses the rest of its batch:

1. The payload's shape (the published schema: types, label names, sizes, no control
   characters). Any violation answers 400 naming its path (``alerts[3].labels.severity``)
   and stores nothing: such a payload did not come from a working Alertmanager.
2. Each firing alert is mapped to ticket fields (``AlertMapping``) and checked like a
   ``POST /api/v1/tickets`` body. An alert that fails (a category or system name the ticket
   rules refuse, a missing ``alertname``) is rejected alone, named by the label it came from;
   the others are stored. The answer is 207 when any alert was rejected, else 200.

Keys Alertmanager may add in later versions are ignored, not refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NoReturn

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    SafeCharField,
    StrictIntegerField,
    contains_control_characters,
    error_responses,
)
from config.throttling import IntakeThrottle
from remediation.alerts import selectors, services
from remediation.alerts.models import AlertStatus
from remediation.alerts.rules import (
    LABEL_NAME_REGEX,
    MappedAlert,
    alert_ticket_id,
    fallback_fingerprint,
    map_alert,
    ticket_text,
)
from remediation.tickets.api import TicketInputSerializer
from remediation.tickets.models import CategorySource
from remediation.tickets.services import TicketInput

MAX_ALERTS = 500
MAX_LABELS = 64
MAX_LABEL_VALUE = 1024
MAX_ANNOTATIONS = 32
MAX_ANNOTATION_VALUE = 8000
MAX_URL = 16_000
MAX_GROUP_KEY = 100_000
SOURCE = "alertmanager"

_LINE = "^[^\\u0000-\\u001f\\u007f]*$"
_TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
# Alertmanager's zero time: "no end yet".
_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


_LABEL_NAME = re.compile(LABEL_NAME_REGEX)


class _StringMapField(serializers.Field):
    """A JSON object of string values, checked key by key so that errors name the key.
    Exactly the rules its published schema states (see the decorators below)."""

    max_items = MAX_LABELS
    max_value = MAX_LABEL_VALUE
    multiline = False

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object of strings.")
        if len(data) > self.max_items:
            raise serializers.ValidationError(f"At most {self.max_items} entries.")
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            label = str(key)[:100]
            if not _LABEL_NAME.fullmatch(key):
                errors[label] = ["Not a label name (letters, digits and _, not first a digit)."]
            elif not isinstance(value, str):
                errors[label] = ["Must be a string."]
            elif contains_control_characters(value, multiline=self.multiline):
                errors[label] = ["Must not contain NUL bytes or control characters."]
            elif len(value) > self.max_value:
                errors[label] = [f"At most {self.max_value} characters."]
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_LABELS,
        "propertyNames": {"pattern": LABEL_NAME_REGEX, "maxLength": 128},
        "additionalProperties": {"type": "string", "maxLength": MAX_LABEL_VALUE, "pattern": _LINE},
    }
)
class LabelsField(_StringMapField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_ANNOTATIONS,
        "propertyNames": {"pattern": LABEL_NAME_REGEX, "maxLength": 128},
        "additionalProperties": {
            "type": "string",
            "maxLength": MAX_ANNOTATION_VALUE,
            "pattern": _TEXT,
        },
    }
)
class AnnotationsField(_StringMapField):
    max_items = MAX_ANNOTATIONS
    max_value = MAX_ANNOTATION_VALUE
    multiline = True


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as Alertmanager writes it (nanoseconds included), in UTC; None for
    anything else, and for times UTC cannot hold (year 1 at +14:00)."""
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class AlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = LabelsField()
    annotations = AnnotationsField(required=False, default=dict)
    # Plain strings in the shape check: a time we cannot read rejects that alert alone
    # (startsAt) or reads as "no end" (endsAt), never the whole batch.
    startsAt = SafeCharField(max_length=64, help_text="RFC 3339, e.g. 2026-11-27T01:02:03.456Z")
    endsAt = SafeCharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    # Prometheus puts the rule's whole PromQL expression in this URL.
    generatorURL = SafeCharField(max_length=MAX_URL, required=False, allow_blank=True)
    fingerprint = SafeCharField(
        max_length=32,
        required=False,
        regex=r"^[0-9a-f]{1,32}$",
        regex_message="Alertmanager's fingerprint: 1-32 lowercase hex digits.",
    )


class AlertmanagerWebhookSerializer(serializers.Serializer):
    version = serializers.ChoiceField(choices=["4"], required=False)
    # Holds the route and every group_by label value; not stored, only bounded.
    groupKey = SafeCharField(max_length=MAX_GROUP_KEY, required=False, allow_blank=True)
    truncatedAlerts = StrictIntegerField(min_value=0, required=False)
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    receiver = SafeCharField(max_length=200, required=False, allow_blank=True)
    groupLabels = LabelsField(required=False)
    commonLabels = LabelsField(required=False)
    commonAnnotations = AnnotationsField(required=False)
    externalURL = SafeCharField(max_length=MAX_URL, required=False, allow_blank=True)
    alerts = AlertSerializer(many=True, min_length=1, max_length=MAX_ALERTS)  # type: ignore[call-arg]


class AlertResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    fingerprint = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    outcome = serializers.ChoiceField(choices=services.ALERT_OUTCOMES)
    ticket_id = serializers.CharField(allow_null=True)
    # A declared field, moved out of the class by DRF's metaclass: no clash with .errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class AlertBatchOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = AlertResultSerializer(many=True)


# Which ticket field comes from which part of the alert, to name the path of an error.
def _field_paths(index: int, mapped: MappedAlert) -> dict[str, str]:
    prefix = f"alerts[{index}]"
    system = mapped.system_labels[0] if mapped.system_labels else "instance"
    return {
        "ticket_id": f"{prefix}.fingerprint",
        "title": f"{prefix}.labels.alertname",
        "description": f"{prefix}.annotations",
        "category": f"{prefix}.labels.{mapped.category_label}"
        if mapped.category_label
        else f"{prefix} (mapping {mapped.rule!r}: default category)",
        "affected_system": f"{prefix}.labels.{system}",
        "severity": f"{prefix}.labels.severity",
    }


class AlertmanagerThrottled(exceptions.Throttled):
    """The intake throttle's refusal, as a status Alertmanager retries.

    Alertmanager's webhook notifier retries 5xx answers with its backoff until the group's
    flush times out, but takes any 4xx, 429 included, as unrecoverable: the notification is
    dropped and its alerts wait for the group's next flush (``group_interval``, 5 minutes by
    default). A firing that resolves meanwhile is then only ever sent as resolved, and its
    incident is never filed. So a throttled batch answers 503 (with ``Retry-After`` and the
    error code ``throttled``): Alertmanager comes back within seconds and, as nothing of the
    batch was stored, the retry counts exactly once."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class AlertmanagerWebhookApi(APIView):
    throttle_classes = [IntakeThrottle]

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        raise AlertmanagerThrottled(wait)

    @staticmethod
    def throttle_weight(request: Request) -> int:
        """A batch costs its number of alerts: each may become a ticket."""
        data = request.data
        alerts = data.get("alerts") if isinstance(data, dict) else None
        return len(alerts) if isinstance(alerts, list) else 1

    @extend_schema(
        operation_id="alerts_alertmanager",
        request=AlertmanagerWebhookSerializer,
        responses={
            200: AlertBatchOutputSerializer,
            207: AlertBatchOutputSerializer,
            **error_responses(400, 401, 403, 413, 503),
        },
        summary="Alertmanager webhook: each firing alert becomes or joins a ticket",
        description=(
            "Point an Alertmanager webhook receiver here (payload version 4), with "
            "`http_config.authorization: {type: Token, credentials: <key>}`. A payload that "
            "does not match this schema answers 400 naming the path of each bad field and "
            "stores nothing. Each firing alert is then mapped to ticket fields (the alert "
            "label mappings in the admin) and checked like a ticket; one that fails is "
            "rejected alone (outcome `rejected`, `errors` by path) while the others are "
            "stored: the answer is then 207, else 200. Resolved alerts annotate their ticket. "
            "Past the sender's intake rate the answer is 503 `throttled` with `Retry-After`, "
            "nothing stored: Alertmanager retries a 5xx with backoff, never a 4xx."
        ),
    )
    def post(self, request: Request) -> Response:
        envelope = AlertmanagerWebhookSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        data: dict[str, Any] = envelope.validated_data
        receiver = data.get("receiver", "")
        rules = selectors.alert_mapping_rules()
        user = request.user

        results: list[dict[str, Any]] = []
        for index, alert in enumerate(data["alerts"]):
            labels: dict[str, str] = alert["labels"]
            fingerprint = alert.get("fingerprint") or fallback_fingerprint(labels)
            starts_at = parse_time(alert["startsAt"])
            ends_at = parse_time(alert.get("endsAt"))
            if starts_at is None:
                result = services.AlertResult(
                    services.Outcome.REJECTED,
                    errors={f"alerts[{index}].startsAt": ["Not an RFC 3339 date-time."]},
                )
            elif alert["status"] == "resolved":
                result = services.alert_resolve(
                    fingerprint,
                    starts_at,
                    ends_at=ends_at if ends_at and ends_at > _EPOCH else None,
                    acting_user=user,  # type: ignore[arg-type]
                )
            else:
                key = alert_ticket_id(fingerprint, starts_at, int(user.pk or 0))
                result = services.alert_redeliver(
                    key,
                    acting_user=user,  # type: ignore[arg-type]
                ) or self._fire(index, alert, key, starts_at, fingerprint, receiver, rules, user)
            row: dict[str, Any] = {
                "index": index,
                "fingerprint": fingerprint,
                "status": alert["status"],
                "outcome": result.outcome,
                "ticket_id": result.ticket_id,
            }
            if result.errors:
                row["errors"] = result.errors
            results.append(row)

        rejected = sum(r["outcome"] == services.Outcome.REJECTED for r in results)
        body = {"received": len(results), "rejected": rejected, "results": results}
        code = status.HTTP_207_MULTI_STATUS if rejected else status.HTTP_200_OK
        return Response(AlertBatchOutputSerializer(body).data, status=code)

    def _fire(
        self,
        index: int,
        alert: dict[str, Any],
        key: str,
        starts_at: datetime,
        fingerprint: str,
        receiver: str,
        rules: list[Any],
        user: Any,
    ) -> services.AlertResult:
        labels: dict[str, str] = alert["labels"]
        annotations: dict[str, str] = alert.get("annotations") or {}
        if not labels.get("alertname", "").strip():
            return services.AlertResult(
                services.Outcome.REJECTED,
                errors={f"alerts[{index}].labels.alertname": ["Required: the alert's name."]},
            )
        mapped = map_alert(labels, rules)
        title, description = ticket_text(labels, annotations, notes=mapped.notes)
        ticket = TicketInputSerializer(
            data={
                "ticket_id": key,
                "title": title,
                "description": description,
                "category": mapped.category,
                "affected_system": mapped.affected_system,
                "severity": mapped.severity,
                "enable_auto_remediation": mapped.enable_auto_remediation,
                "source": SOURCE,
            }
        )
        if not ticket.is_valid():
            paths = _field_paths(index, mapped)
            errors = {
                paths.get(name, f"alerts[{index}]"): [str(m) for m in messages]
                for name, messages in ticket.errors.items()
            }
            return services.AlertResult(services.Outcome.REJECTED, errors=errors)
        fields = ticket.validated_data
        result = services.alert_fire(
            services.FiringAlert(
                key=key,
                fingerprint=fingerprint,
                starts_at=starts_at,
                labels=labels,
                annotations=annotations,
                generator_url=alert.get("generatorURL", ""),
                ticket=TicketInput(
                    ticket_id=key,
                    title=fields["title"],
                    description=fields["description"],
                    category=fields["category"],
                    enable_auto_remediation=fields["enable_auto_remediation"],
                    affected_system=fields.get("affected_system", ""),
                    severity=fields["severity"],
                    source=SOURCE,
                    alert_labels=labels,
                    # No category label: the mapping's default, which the analysis may
                    # replace with the category of the platform it observes.
                    category_source=(
                        CategorySource.GIVEN
                        if mapped.category_label
                        else CategorySource.ALERT_DEFAULT
                    ),
                ),
            ),
            receiver=receiver,
            acting_user=user,
        )
        if result.errors:  # refused by the intake itself (its ticket_id was taken)
            paths = _field_paths(index, mapped)
            errors = {paths.get(k, f"alerts[{index}]"): v for k, v in result.errors.items()}
            result = services.AlertResult(result.outcome, result.ticket_id, errors)
        return result


def publish_batch_limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: the schema states the batch size this endpoint enforces
    (drf-spectacular does not publish a list serializer's min/max length)."""
    schemas = result.get("components", {}).get("schemas", {})
    alerts = schemas.get("AlertmanagerWebhookRequest", {}).get("properties", {}).get("alerts")
    if alerts is not None:
        alerts["minItems"] = 1
        alerts["maxItems"] = MAX_ALERTS
    return result
