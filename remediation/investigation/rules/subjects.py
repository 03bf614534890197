"""What an investigation looks at, and its bounds. Pure, no Django, no I/O.

The subjects are the objects the ticket names: ``affected_system`` first, then the objects
its text (or the alert's labels) names, most explicit first. A name's kind is often not
certain from its shape (``prod-web-01`` may be a VM, an OpenStack instance or a switch;
``default/web-7d9f`` a pod or a deployment), so each subject carries the kinds it may be, in
order; the investigation asks the platform of each in turn and keeps the first that knows
the name, as an engineer would look it up in the inventory.

Names (interfaces, namespaces, hosts and FQDNs, volumes, ports, addresses) are read by
``catalogue.rules.names``, as the target rules and the analysis read them. An alert's labels
come as data (``Ticket.alert_labels``, stored by the alert intake), never from the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remediation.catalogue.rules import names
from remediation.catalogue.rules.operations import ObjectKind
from remediation.catalogue.rules.targets import ObjectRef, find_objects, parse_affected

# Bounds: calls per investigation, seconds for all of it, characters kept of one answer,
# related objects followed from one object, subjects taken from one ticket.
MAX_CALLS = 16
MAX_SECONDS = 8.0
MAX_ANSWER_CHARS = 12_000
MAX_RELATIVES = 4
MAX_SUBJECTS = 3

# Which platform shows each kind of object (the connector asked).
KIND_PLATFORM: dict[str, str] = {
    "vm": "vmware",
    "host": "vmware",
    "pod": "kubernetes",
    "deployment": "kubernetes",
    "device": "network",
    "interface": "network",
    "volume": "storage",
    "instance": "openstack",
}

# The kinds a parsed name may be, in the order they are tried.
CANDIDATE_KINDS: dict[ObjectKind, tuple[str, ...]] = {
    ObjectKind.VM: ("vm",),
    ObjectKind.HOST: ("vm", "instance", "device"),
    ObjectKind.INSTANCE: ("instance", "vm"),
    ObjectKind.DEVICE: ("device",),
    ObjectKind.POD: ("pod", "deployment"),
    ObjectKind.DEPLOYMENT: ("deployment", "pod"),
    ObjectKind.VOLUME: ("volume",),
    ObjectKind.PVC: ("volume",),
}

MAX_INTERFACES = 4


@dataclass(frozen=True)
class Subject:
    """A name to look up and the kinds it may be; ``interfaces`` for a device."""

    name: str
    kinds: tuple[str, ...]
    interfaces: tuple[str, ...] = ()
    source: str = "affected_system"
    # Other spellings to try when the name is not known as written: the short host name of
    # an FQDN, a bare pod or deployment name in the ticket's namespace (or "default").
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kinds": list(self.kinds), "source": self.source}
        if self.interfaces:
            out["interfaces"] = list(self.interfaces)
        if self.alternatives:
            out["alternatives"] = [name for name, _ in self.alternatives]
        return out

    def spellings(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return ((self.name, self.kinds), *self.alternatives)


_HOSTLIKE_KINDS = frozenset({"vm", "instance", "device"})
DEFAULT_NAMESPACE = "default"


def namespace_in(text: str) -> str:
    """The Kubernetes namespace the text names; "default" when it names none; "" when it
    names several (no namespace is then guessed)."""
    if not names.namespaces(text):
        return DEFAULT_NAMESPACE
    return names.namespace(text)


def with_alternatives(subject: Subject, text: str) -> Subject:
    """The subject with the other spellings worth trying (see ``Subject.alternatives``)."""
    name, kinds = subject.name, subject.kinds
    more: list[tuple[str, tuple[str, ...]]] = []
    if names.is_fqdn(name) and set(kinds) & _HOSTLIKE_KINDS:
        more.append((names.short_host(name), kinds))
    short = names.short_host(name) or name.split(".", 1)[0]
    namespace = namespace_in(text)
    if (
        "/" not in short
        and not names.is_ip_address(name)
        and namespace
        and (set(kinds) & _HOSTLIKE_KINDS or set(kinds) & {"pod", "deployment"})
    ):
        more.append((f"{namespace}/{short}", ("pod", "deployment")))
    return Subject(name, kinds, subject.interfaces, subject.source, tuple(more))


@dataclass(frozen=True)
class Hints:
    """What an alert adds: objects named by its labels (``kind -> names``, most specific
    kind first) and the interfaces they name."""

    objects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    interfaces: tuple[str, ...] = ()


# The kinds a name an alert label gives may be.
_HINT_KINDS = {"host": ("vm", "instance", "device")}


def interfaces_in(text: str) -> tuple[str, ...]:
    """Interface names the text mentions (``Gi0/1``, ``xe-0/0/1``, ``Port-channel1``),
    first mention first (``names.interfaces``)."""
    return names.interface_names(text)[:MAX_INTERFACES]


def _subject(ref: ObjectRef, interfaces: tuple[str, ...], source: str) -> Subject | None:
    kinds = CANDIDATE_KINDS.get(ref.kind)
    if ref.kind is ObjectKind.INTERFACE or not kinds:
        return None
    if ref.kind in (ObjectKind.HOST, ObjectKind.DEVICE) and interfaces:
        kinds = ("device",) if ref.kind is ObjectKind.DEVICE else ("device", "vm", "instance")
    return Subject(ref.name, kinds, interfaces if "device" in kinds else (), source)


def subjects_for(affected_system: str, text: str, hints: Hints | None = None) -> list[Subject]:
    """The objects to investigate, most certain first, at most MAX_SUBJECTS.

    For an alert (``hints``) the objects its labels name come first: its affected system is
    often the exporter that scraped it. For a ticket the affected system comes first and is
    the only possible primary subject (``investigate``); objects the text merely mentions are
    looked at for context."""
    found: list[Subject] = []
    seen: set[str] = set()
    interfaces = interfaces_in(f"{affected_system}\n{text}")
    if hints is not None and hints.interfaces:
        interfaces = tuple(dict.fromkeys(hints.interfaces + interfaces))[:MAX_INTERFACES]

    def add(subject: Subject | None) -> None:
        if subject is not None and subject.name not in seen and len(found) < MAX_SUBJECTS:
            seen.add(subject.name)
            found.append(with_alternatives(subject, text))

    for kind, values in (hints.objects if hints else {}).items():
        for name in values:
            kinds = _HINT_KINDS.get(kind, (kind,))
            own = interfaces if "device" in kinds else ()
            add(Subject(name, kinds, own, "alert labels"))
    affected = affected_system.strip()
    # "core-sw-01 Gi0/1": a device and its interface.
    head = affected.split()[0] if affected else ""
    ref = parse_affected(head.rstrip(":,")) if head else None
    if ref is not None:
        add(_subject(ref, interfaces, "affected_system"))
    for obj in find_objects(text):
        add(_subject(obj, interfaces, "ticket text"))
    return found


def truncate_answer(answer: Any, limit: int = MAX_ANSWER_CHARS) -> tuple[Any, bool]:
    """The answer as stored: JSON-like values kept when small, else cut text and True."""
    import json

    try:
        text = json.dumps(answer, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(answer)
    if len(text) <= limit:
        return answer, False
    return text[:limit], True


# --- What an alert points at (data) ------------------------------------------------------
#
# Alerts carry no prose worth reading; their labels name the objects. Which label names which
# kind of object follows the public exporters and mixins: kube-state-metrics
# (namespace + pod / deployment / horizontalpodautoscaler / persistentvolumeclaim),
# node-exporter (instance = host:port, mountpoint, device), blackbox (instance = the probed
# URL), SNMP (instance = the device, ifName / ifDescr = the interface). For alerts whose
# ``instance`` is the exporter rather than the object (every kube-state-metrics alert), the
# object labels come first.

# (labels that must all be present, kind, how the name is built)
LABEL_OBJECTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("namespace", "pod"), "pod", "{namespace}/{pod}"),
    (("namespace", "deployment"), "deployment", "{namespace}/{deployment}"),
    (("namespace", "horizontalpodautoscaler"), "deployment",
     "{namespace}/{horizontalpodautoscaler}"),
    (("persistentvolumeclaim",), "volume", "{persistentvolumeclaim}"),
    (("vm",), "vm", "{vm}"),
    (("vm_name",), "vm", "{vm_name}"),
    (("instance_name",), "instance", "{instance_name}"),
    (("server_name",), "instance", "{server_name}"),
)  # fmt: skip
INTERFACE_LABELS = ("ifName", "ifDescr", "interface", "ifname")
HOST_LABELS = ("instance", "target", "hostname", "nodename", "host", "device")
VOLUME_LABELS = ("device", "mountpoint", "volume", "export")

# Alert names whose object is a file system or volume first (node-exporter, kube mixin).
VOLUME_ALERTS = re.compile(r"^(?:NodeFilesystem|KubePersistentVolume|HostOutOfDisk|HostDisk)", re.I)


MAX_LABELS = 64
MAX_LABEL_CHARS = 253


def alert_labels(stored: Any) -> dict[str, str]:
    """An alert's labels as the alert intake stored them (``Ticket.alert_labels``): string
    values only, bounded. Anything else (a ticket from the ticket API, whatever its text
    says) has none."""
    if not isinstance(stored, Mapping):
        return {}
    labels: dict[str, str] = {}
    for key, value in stored.items():
        if isinstance(key, str) and isinstance(value, str) and len(labels) < MAX_LABELS:
            labels[key] = value.strip()[:MAX_LABEL_CHARS]
    return labels


def alert_hints(labels: dict[str, str]) -> Hints:
    """The objects an alert's labels name, by kind, most specific first."""
    objects: dict[str, list[str]] = {}

    def add(kind: str, name: str) -> None:
        if name and name not in objects.setdefault(kind, []):
            objects[kind].append(name)

    volume_first = bool(VOLUME_ALERTS.match(labels.get("alertname", "")))
    if volume_first:
        _volumes(labels, add)
    for needed, kind, template in LABEL_OBJECTS:
        if all(labels.get(n) for n in needed):
            add(kind, template.format(**{n: labels[n] for n in needed}))
    interface = next((labels[k] for k in INTERFACE_LABELS if labels.get(k)), "")
    for key in HOST_LABELS:
        host = names.host_of(labels.get(key, ""))
        if not host or names.is_volume_name(host):
            continue
        if interface and names.is_interface(interface):
            add("device", host)
        elif "namespace" not in labels or key != "instance":
            add("host", host)
    if not volume_first:
        _volumes(labels, add)
    ordered: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in objects.items()}
    return Hints(objects=ordered, interfaces=(interface,) if interface else ())


def _volumes(labels: dict[str, str], add: Any) -> None:
    for key in VOLUME_LABELS:
        volume = names.volume_in_path(labels.get(key, ""))
        if volume:
            add("volume", volume)
