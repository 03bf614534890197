"""Alert intake and storm control: the label mapping, received alerts, and the storm lock.

Imported by ``remediation.models`` (the ``remediation`` app owns these tables).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from policies.categories import CategoryField
from remediation.alerts.rules import LABEL_NAME_REGEX, SEVERITIES, MappingRule

_LABEL_NAME = re.compile(LABEL_NAME_REGEX)


def _label_list(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _LABEL_NAME.match(v) for v in value
    ):
        raise ValidationError('A list of label names, e.g. ["namespace", "pod"].')


def _severity_map(value: object) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and v in SEVERITIES for k, v in value.items()
    ):
        raise ValidationError(
            'Label value -> one of low, medium, high, critical, e.g. {"warning": "medium"}.'
        )


_label_name = RegexValidator(LABEL_NAME_REGEX, "Not a Prometheus label name.")


class AlertMapping(models.Model):
    """Which labels of an alert give its ticket's category, affected system and severity.

    The enabled rule with the lowest priority whose required labels are all present
    applies; without one, built-in defaults (category server, severity medium, no system).
    """

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    enabled = models.BooleanField(default=True)
    required_labels = models.JSONField(
        default=list,
        blank=True,
        validators=[_label_list],
        help_text='Labels that must be present for this rule, e.g. ["namespace", "pod"].',
    )
    system_template = models.CharField(
        max_length=200,
        blank=True,
        help_text="The affected system, with {label} placeholders, e.g. {namespace}/{pod}.",
    )
    strip_port = models.BooleanField(
        default=False, help_text="Drop a trailing :port (Prometheus' instance is host:port)."
    )
    category_label = models.CharField(
        max_length=128, blank=True, default="category", validators=[_label_name]
    )
    default_category = CategoryField(default="server")
    severity_label = models.CharField(
        max_length=128, blank=True, default="severity", validators=[_label_name]
    )
    severity_values = models.JSONField(
        default=dict,
        blank=True,
        validators=[_severity_map],
        help_text='Label value to ticket severity, e.g. {"warning": "medium", "page": "high"}.',
    )
    default_severity = models.CharField(
        max_length=16, choices=[(s, s) for s in SEVERITIES], default="medium"
    )
    enable_auto_remediation = models.BooleanField(
        default=False,
        help_text="Tickets from these alerts opt in to auto-remediation. Policies still decide.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        leftover = re.sub(r"\{[a-zA-Z_][a-zA-Z0-9_]*\}", "", self.system_template)
        if "{" in leftover or "}" in leftover:
            raise ValidationError({"system_template": "Use {label_name} placeholders only."})

    def as_rule(self) -> MappingRule:
        return MappingRule(
            name=self.name,
            required_labels=tuple(self.required_labels or ()),
            system_template=self.system_template,
            strip_port=self.strip_port,
            category_label=self.category_label,
            default_category=self.default_category,
            severity_label=self.severity_label,
            severity_values={str(k).lower(): v for k, v in (self.severity_values or {}).items()},
            default_severity=self.default_severity,
            enable_auto_remediation=self.enable_auto_remediation,
        )


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertRecord(models.Model):
    """One firing of one alert (fingerprint + startsAt), and the ticket it became or joined."""

    key = models.CharField(max_length=64, unique=True, help_text="The alert's ticket_id.")
    fingerprint = models.CharField(max_length=64, db_index=True)
    ticket = models.ForeignKey(
        "remediation.Ticket", null=True, on_delete=models.PROTECT, related_name="alerts"
    )
    status = models.CharField(
        max_length=16, choices=AlertStatus.choices, default=AlertStatus.FIRING
    )
    receiver = models.CharField(max_length=200, blank=True)
    # The identity that fired it: the only one (with staff) whose deliveries count for it
    # and who may resolve it. Empty for alerts received before this was recorded.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    generator_url = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    first_received_at = models.DateTimeField(auto_now_add=True)
    last_received_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{self.labels.get('alertname', '?')} {self.key}"
