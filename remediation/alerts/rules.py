"""How an Alertmanager alert becomes ticket fields. Pure: no Django.

An alert carries labels (``alertname``, ``instance``, ``severity``, ...) and annotations
(``summary``, ``description``). Admin-editable mapping rules (``AlertMapping`` rows, passed
in here as ``MappingRule`` values) say which labels give the ticket's category, affected
system and severity, and whether its tickets opt in to auto-remediation. The first enabled
rule (lowest priority number) whose required labels are all present applies.

Everything in an alert is untrusted text: it is only ever copied into ticket fields, which
go through the same checks as ``POST /api/v1/tickets``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from policies.rules.category import normalize_category
from remediation.catalogue.rules import names
from remediation.tickets.rules.ids import ALERT_TICKET_PREFIX

# Alertmanager's own label-name syntax.
LABEL_NAME_REGEX = r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$"
# ``{label}`` placeholders in a system template; nothing else is interpreted.
_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
_WHITESPACE = re.compile(r"\s+")

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class MappingRule:
    name: str
    required_labels: tuple[str, ...] = ()
    system_template: str = ""
    strip_port: bool = False
    category_label: str = "category"
    default_category: str = "server"
    severity_label: str = "severity"
    severity_values: Mapping[str, str] = field(default_factory=dict)
    default_severity: str = "medium"
    enable_auto_remediation: bool = False


@dataclass(frozen=True)
class MappedAlert:
    """Ticket fields from one alert, and which label each came from (for error paths)."""

    rule: str
    category: str
    category_label: str | None
    affected_system: str
    system_labels: tuple[str, ...]
    severity: str
    severity_label: str | None
    enable_auto_remediation: bool
    notes: tuple[str, ...] = ()


CATCH_ALL = MappingRule(name="(built-in default)")


def template_labels(template: str) -> tuple[str, ...]:
    return tuple(_PLACEHOLDER.findall(template))


def render_system(template: str, labels: Mapping[str, str], *, strip_port: bool) -> str:
    """Fill ``{label}`` placeholders; a missing label renders empty. ``strip_port`` drops a
    trailing ``:9100`` (Prometheus' ``instance`` is host:port, the target is the host) and
    reads the host of a URL (a blackbox probe's ``instance`` is the URL it probed)."""
    value = _PLACEHOLDER.sub(lambda m: labels.get(m.group(1), ""), template)
    if strip_port:
        # Hosts and ports are read as everywhere else (``catalogue.rules.names``). An
        # unreadable URL stays as it is: intake then refuses it as a system name.
        host = names.url_host(value) if "://" in value else None
        if host is None:
            host, port = names.split_port(value)
            # An IPv6 address keeps its brackets, as Prometheus writes it: "[::1]".
            host = f"[{host}]" if port is not None and ":" in host else host
        value = host
    return value.strip().strip("/")


def choose_rule(labels: Mapping[str, str], rules: Sequence[MappingRule]) -> MappingRule:
    for rule in rules:
        if all(labels.get(name) for name in rule.required_labels):
            return rule
    return CATCH_ALL


def map_alert(labels: Mapping[str, str], rules: Sequence[MappingRule]) -> MappedAlert:
    rule = choose_rule(labels, rules)
    notes: list[str] = []

    category_label: str | None = None
    category = rule.default_category
    if rule.category_label and labels.get(rule.category_label):
        category_label = rule.category_label
        category = labels[rule.category_label]
    category = normalize_category(category)

    severity_label: str | None = None
    severity = rule.default_severity
    raw = labels.get(rule.severity_label, "") if rule.severity_label else ""
    if raw:
        severity_label = rule.severity_label
        mapped = rule.severity_values.get(raw.lower())
        if mapped in SEVERITIES:
            severity = mapped
        elif raw.lower() in SEVERITIES:
            severity = raw.lower()
        else:
            # An unknown value must not lose the alert; the ticket says what happened.
            notes.append(
                f"Label {rule.severity_label}={raw[:50]!r} is not in mapping {rule.name!r}; "
                f"severity {severity} used."
            )

    system = render_system(rule.system_template, labels, strip_port=rule.strip_port)
    return MappedAlert(
        rule=rule.name,
        category=category,
        category_label=category_label,
        affected_system=system,
        system_labels=template_labels(rule.system_template),
        severity=severity,
        severity_label=severity_label,
        enable_auto_remediation=rule.enable_auto_remediation,
        notes=tuple(notes),
    )


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ticket_text(
    labels: Mapping[str, str], annotations: Mapping[str, str], *, notes: Iterable[str] = ()
) -> tuple[str, str]:
    """Title and description: the alert name and summary, then the description annotation,
    the other annotations and the labels (sorted, so the same alert always reads the same
    and therefore has the same pattern signature)."""
    name = labels.get("alertname", "")
    summary = _one_line(annotations.get("summary", ""))
    title = _clip(f"{name}: {summary}" if summary else name, MAX_TITLE)

    parts: list[str] = []
    if summary:
        parts.append(summary)
    if annotations.get("description", "").strip():
        parts.append(annotations["description"].strip())
    others = [
        f"{k}: {_one_line(v)}"
        for k, v in sorted(annotations.items())
        if k not in ("summary", "description") and v.strip()
    ]
    if others:
        parts.append("Annotations:\n" + "\n".join(others))
    parts.append("Labels:\n" + "\n".join(f"{k}={v}" for k, v in sorted(labels.items())))
    parts.extend(notes)
    return title, _clip("\n\n".join(parts), MAX_DESCRIPTION)


def fallback_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager always sends a fingerprint; a hand-made payload may not. Same labels,
    same fingerprint, as in Alertmanager (a different hash function, same property)."""
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def alert_ticket_id(fingerprint: str, starts_at: datetime, submitter: int) -> str:
    """A stable ticket_id: the same firing of the same alert from the same sender always maps
    to the same id, so a re-delivery is recognized; a later firing (new startsAt) gets a new
    one. The sender's id is part of it: a token that guesses another sender's fingerprints
    can neither take that sender's ids nor learn whether they exist."""
    at = starts_at.astimezone(UTC)
    when = f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z"
    tail = f"-{when}-{submitter}"
    return f"{ALERT_TICKET_PREFIX}{fingerprint[: 64 - 3 - len(tail)][:32]}{tail}"
