"""Incident kinds the replay knows: what it stages in the lab, how an incident reads, the fix.

Kinds are data. The built-in ones are in ``kinds.json`` beside this module; a scenario file
names them by key or defines its own inline (the same fields, see docs/replay.md). Each kind
stages a real lab condition on a target from the lab inventory and names the one catalogue
operation that clears it, or ``None`` when no catalogue action is the right fix (a person
must act). An incident arrives as a ticket (``titles``/``bodies`` templates, a noise line
added at random) or, when the kind has ``alerts``, as an Alertmanager alert (label and
annotation templates). Host names vary per occurrence.

This module only loads and checks the files: every error is a ``ScenarioError`` that names
the field at fault (``kinds[2].fix``), never a traceback.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

BUILTIN = Path(__file__).resolve().parent / "kinds.json"
# Placeholders every template may use: {t} the target, {i} its interface, {n} a digit 2-9,
# {p} 1, {hh}/{mm} a time of day; a kind's ``per_target`` adds its own.
PLACEHOLDERS = ("t", "i", "n", "p", "hh", "mm")
DEFINITION = ("category", "condition", "interfaces", "targets", "fix", "titles", "bodies")
KIND_FIELDS = {"kind", "key", *DEFINITION, "alerts", "per_target", "why_no_fix"}
ENTRY_FIELDS = {"count", "drift_after", "drift_condition"}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")


class ScenarioError(ValueError):
    """A scenario or kinds file that cannot be run; the message names the field."""


@dataclass(frozen=True)
class Kind:
    key: str
    category: str
    condition: str
    targets: tuple[str, ...]
    fix: str | None  # the catalogue operation that fixes it, None: a person
    titles: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    # Alertmanager alert templates ({"labels": {...}, "annotations": {...}}): when given,
    # the incident arrives through the Alertmanager webhook instead of as a ticket.
    alerts: tuple[Mapping[str, Mapping[str, str]], ...] = ()
    # Extra placeholders whose value depends on the target: {"size": {"vol-1": 1536}}.
    per_target: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def via(self) -> str:
        return "alert" if self.alerts else "ticket"


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: must be a non-empty string")
    return value


def _strings(value: Any, where: str, *, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{where}: must be a non-empty list of strings")
    return tuple(_str(v, f"{where}[{n}]") for n, v in enumerate(value))


def _check_template(text: str, where: str, names: set[str]) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    for name in fields:
        if name not in names:
            known = ", ".join("{" + n + "}" for n in sorted(names))
            raise ScenarioError(f"{where}: unknown placeholder {{{name}}} (known: {known})")


def _operations() -> set[str]:
    from remediation.catalogue.rules.operations import CATALOGUE

    return set(CATALOGUE)


def _check_fix(fix: Any, where: str) -> str | None:
    if fix is None:
        return None
    _str(fix, where)
    ops = _operations()
    if fix not in ops:
        known = ", ".join(sorted(ops))
        raise ScenarioError(
            f"{where}: unknown operation {fix!r} (null means a person; known: {known})"
        )
    return str(fix)


def _per_target(raw: Any, targets: tuple[str, ...], where: str) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be an object")
    out = {}
    for name, values in raw.items():
        if not isinstance(values, dict) or any(t not in values for t in targets):
            raise ScenarioError(f"{where}.{name}: must give a value for every target")
        out[name] = dict(values)
    return out


def _alerts(raw: Any, where: str, names: set[str]) -> tuple[dict[str, dict[str, str]], ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}: must be a non-empty list of alerts")
    alerts = []
    for n, alert in enumerate(raw):
        at = f"{where}[{n}]"
        if not isinstance(alert, dict) or set(alert) - {"labels", "annotations"}:
            raise ScenarioError(f"{at}: must be an object of labels and annotations")
        parts: dict[str, dict[str, str]] = {}
        for part in ("labels", "annotations"):
            values = alert.get(part) or {}
            if not isinstance(values, dict):
                raise ScenarioError(f"{at}.{part}: must be an object of strings")
            for name, text in values.items():
                _check_template(_str(text, f"{at}.{part}.{name}"), f"{at}.{part}.{name}", names)
            parts[part] = dict(values)
        if not parts["labels"].get("alertname"):
            raise ScenarioError(f"{at}.labels.alertname: missing (an alert needs its name)")
        alerts.append(parts)
    return tuple(alerts)


def parse_kind(data: Any, where: str) -> Kind:
    """One kind's definition, checked field by field."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: must be an object")
    unknown = sorted(set(data) - KIND_FIELDS - ENTRY_FIELDS)
    if unknown:
        raise ScenarioError(f"{where}.{unknown[0]}: unknown field")
    key = _str(data.get("key", data.get("kind")), f"{where}.kind")
    for name in ("category", "condition", "targets", "fix"):
        if name not in data:
            raise ScenarioError(f"{where}.{name}: missing")
    fix = _check_fix(data["fix"], f"{where}.fix")
    targets = _strings(data["targets"], f"{where}.targets")
    per_target = _per_target(data.get("per_target"), targets, f"{where}.per_target")
    names = set(PLACEHOLDERS) | set(per_target)
    alerts: tuple[dict[str, dict[str, str]], ...] = ()
    if data.get("alerts") is not None:
        alerts = _alerts(data["alerts"], f"{where}.alerts", names)
    elif "titles" not in data or "bodies" not in data:
        missing = "titles" if "titles" not in data else "bodies"
        raise ScenarioError(
            f"{where}.{missing}: missing (a ticket kind needs titles and bodies, an alert "
            "kind needs alerts)"
        )
    texts = {}
    for part in ("titles", "bodies"):
        texts[part] = _strings(data.get(part), f"{where}.{part}", required=not alerts)
        for n, text in enumerate(texts[part]):
            _check_template(text, f"{where}.{part}[{n}]", names)
    return Kind(
        key=key,
        category=_str(data["category"], f"{where}.category"),
        condition=_str(data["condition"], f"{where}.condition"),
        targets=targets,
        fix=fix,
        titles=texts["titles"],
        bodies=texts["bodies"],
        interfaces=_strings(data.get("interfaces"), f"{where}.interfaces", required=False),
        alerts=alerts,
        per_target=per_target,
    )


@cache
def _builtin() -> tuple[dict[str, Kind], tuple[str, ...]]:
    data = json.loads(BUILTIN.read_text())
    kinds = {}
    for n, raw in enumerate(data["kinds"]):
        kind = parse_kind(raw, f"{BUILTIN.name}: kinds[{n}]")
        kinds[kind.key] = kind
    return kinds, tuple(data["noise"])


def builtin_kinds() -> dict[str, Kind]:
    return dict(_builtin()[0])


def noise() -> tuple[str, ...]:
    return _builtin()[1]


def _count(value: Any, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{where}: must be an integer >= {minimum}, not {value!r}")
    return value


def _rate(scenario: dict[str, Any], key: str) -> None:
    if key in scenario:
        value = scenario[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ScenarioError(f"{key}: must be a number within 0-1, not {value!r}")


def scenario_kinds(scenario: dict[str, Any]) -> dict[str, Kind]:
    """The kinds a scenario uses, by key: defined inline, or built in and named by key."""
    builtin = builtin_kinds()
    kinds: dict[str, Kind] = {}
    for n, entry in enumerate(scenario["kinds"]):
        where = f"kinds[{n}]"
        key = entry["kind"]
        if any(f in entry for f in (*DEFINITION, "alerts")):
            kinds[key] = parse_kind(entry, where)
        elif key in builtin:
            kinds[key] = builtin[key]
        else:
            raise ScenarioError(
                f"{where}.kind: {key!r} is not a built-in kind ({', '.join(sorted(builtin))}) "
                "and the entry does not define it (category, condition, targets, fix, texts)"
            )
    return kinds


def check_scenario(scenario: Any, *, default_name: str = "scenario") -> dict[str, Any]:
    """A scenario read from JSON, checked (every kind too); returns it with its name set."""
    if not isinstance(scenario, dict):
        raise ScenarioError("the file must hold a JSON object")
    scenario = dict(scenario)
    name = scenario.setdefault("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScenarioError(f"name: {name!r} must be letters, digits, '_', '-' or '.'")
    if not isinstance(scenario.get("seed", 0), int):
        raise ScenarioError(f"seed: must be an integer, not {scenario['seed']!r}")
    for key in (
        "operator_error_rate",
        "operator_coverage",
        "approver_false_approve_rate",
        "approver_false_reject_rate",
        "reviewer_coverage",
    ):
        _rate(scenario, key)
    _count(scenario.get("review_every", 0), "review_every", minimum=0)
    entries = scenario.get("kinds")
    if not isinstance(entries, list) or not entries:
        raise ScenarioError("kinds: must be a non-empty list")
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        where = f"kinds[{n}]"
        if not isinstance(entry, dict):
            raise ScenarioError(f"{where}: must be an object")
        if "key" in entry and "kind" not in entry:
            entry = {**entry, "kind": entry["key"]}
            entries[n] = entry
        key = _str(entry.get("kind"), f"{where}.kind")
        if key in seen:
            raise ScenarioError(f"{where}.kind: {key!r} is listed twice")
        seen.add(key)
        _count(entry.get("count"), f"{where}.count", minimum=1)
        if "drift_after" in entry or "drift_condition" in entry:
            _count(entry.get("drift_after"), f"{where}.drift_after", minimum=0)
            _str(entry.get("drift_condition"), f"{where}.drift_condition")
    scenario["kinds"] = entries
    scenario_kinds(scenario)
    return scenario


def check_against_lab(
    scenario: dict[str, Any],
    kinds: Mapping[str, Kind],
    inventory: Mapping[str, Any],
    conditions: Mapping[str, Any],
) -> None:
    """Every target, interface and condition a scenario stages exists in this lab."""
    objects = {o["target"]: o for o in inventory.get("targets", [])}
    by_kind: dict[str, list[str]] = conditions.get("by_kind", {})
    for n, entry in enumerate(scenario["kinds"]):
        where = f"kinds[{n}]"
        kind = kinds[entry["kind"]]
        staged = [("condition", kind.condition)]
        if entry.get("drift_condition"):
            staged.append(("drift_condition", entry["drift_condition"]))
        for t, target in enumerate(kind.targets):
            obj = objects.get(target)
            if obj is None:
                raise ScenarioError(
                    f"{where}.targets[{t}]: the lab has no {target!r} (see manage.py lab)"
                )
            holder = "interface" if obj["kind"] == "device" else obj["kind"]
            if holder == "interface":
                if not kind.interfaces:
                    raise ScenarioError(f"{where}.interfaces: {target} is a device: name them")
                for i, name in enumerate(kind.interfaces):
                    if name not in obj.get("interfaces", {}):
                        raise ScenarioError(
                            f"{where}.interfaces[{i}]: {target} has no interface {name!r}"
                        )
            for label, condition in staged:
                known = by_kind.get(holder, [])
                if condition not in known:
                    field_ = label if label == "drift_condition" else "condition"
                    raise ScenarioError(
                        f"{where}.{field_}: unknown lab condition {condition!r} for "
                        f"{target} (a {holder}; known: {', '.join(known)})"
                    )


@dataclass(frozen=True)
class Incident:
    seq: int
    kind: Kind
    occurrence: int  # 1-based, per kind
    target: str
    interface: str | None
    title: str
    description: str
    drifted: bool
    condition: str
    alert: Mapping[str, Mapping[str, str]] | None = None  # labels, annotations (alert kinds)


def write_incident(
    rng: random.Random, seq: int, kind: Kind, occurrence: int, drift_condition: str | None
) -> Incident:
    target = rng.choice(kind.targets)
    interface = rng.choice(kind.interfaces) if kind.interfaces else None
    fill: dict[str, Any] = {
        "t": target,
        "i": interface or "",
        "n": rng.randint(2, 9),
        "p": 1,
        "hh": f"{rng.randint(0, 23):02d}",
        "mm": f"{rng.randint(0, 59):02d}",
    }
    fill.update({name: values[target] for name, values in kind.per_target.items()})
    alert = None
    if kind.alerts:
        template = rng.choice(kind.alerts)
        alert = {
            part: {k: v.format(**fill) for k, v in template.get(part, {}).items()}
            for part in ("labels", "annotations")
        }
        title = alert["labels"]["alertname"]
        body = alert["annotations"].get("summary", "")
    else:
        title = rng.choice(kind.titles).format(**fill)
        body = rng.choice(kind.bodies).format(**fill)
        if rng.random() < 0.5:
            body = f"{body} {rng.choice(noise())}"
    return Incident(
        seq=seq,
        kind=kind,
        occurrence=occurrence,
        target=target,
        interface=interface,
        title=title,
        description=body,
        drifted=drift_condition is not None,
        condition=drift_condition or kind.condition,
        alert=alert,
    )


def incident_stream(scenario: dict, kinds: Mapping[str, Kind] | None = None) -> list[Incident]:
    """The scenario's incidents, interleaved at random (stable for its seed)."""
    kinds = kinds if kinds is not None else scenario_kinds(scenario)
    rng = random.Random(scenario.get("seed", 0))
    order: list[str] = []
    for spec in scenario["kinds"]:
        order += [spec["kind"]] * int(spec["count"])
    rng.shuffle(order)
    # Keep each kind's drifted occurrences after its healthy ones: the shuffle decides when
    # a kind recurs, the occurrence number decides whether its fix still works.
    specs = {s["kind"]: s for s in scenario["kinds"]}
    seen: dict[str, int] = {}
    out = []
    for seq, key in enumerate(order, start=1):
        seen[key] = seen.get(key, 0) + 1
        spec = specs[key]
        after = spec.get("drift_after")
        drift = spec.get("drift_condition") if after is not None and seen[key] > after else None
        out.append(write_incident(rng, seq, kinds[key], seen[key], drift))
    return out
