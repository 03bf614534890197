"""Which object an action may act on: kinds, platforms and scope. Pure, no Django.

Two rules every analyzer's proposal passes (``target_refusal``):

* **Kind and platform.** Each catalogue target parameter declares the kind of object it
  takes (``ParamSpec.kind``). A pod is not a deployment, a Kubernetes object is not a VMware
  VM. A bare host name (``ObjectKind.HOST``) is a VM, an instance or a network device only
  once the ticket's platform says which.
* **Scope.** The target is the ticket's ``affected_system`` itself, or an object that belongs
  to it. Belonging is what the name itself says (a pod of that deployment or StatefulSet by
  the controller's naming, the workload that owns that pod, an object in that namespace), or
  what the platform says: the relations the investigation read through the platform's
  read-only tools (the VM's volumes, the device's interfaces, the deployment's pods), passed
  in as ``related``. Never by kind alone: a ticket about VM prod-web-03 that names
  vol-logs-01 does not act on vol-logs-01 unless the platform lists it as that VM's volume,
  and a ticket about a whole cluster does not let its text pick any object in it.
* **A scope is not an object.** An affected system that is a cluster or a namespace
  (``is_scope``) never lets the text choose a target inside it, by name or by having the
  investigation look at what the text named: only what the platform showed through the
  scope itself (``observed_in_scope``); otherwise a person names the target.

Which object is meant is parsed from names and the words around them (``parse_affected``);
the names themselves (interfaces, namespaces, hosts, volumes, ports, addresses) are read by
``catalogue.rules.names``, the one reader the investigation and the analysis use too.
``affected_refusal`` refuses an ``affected_system`` that is no object name at all (a URL, a
trailing ``/``, extra path segments), at intake.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from remediation.catalogue.rules import names
from remediation.catalogue.rules.operations import (
    HOST_KINDS,
    KIND_PLATFORM,
    ObjectKind,
    Operation,
    Platform,
)

K8S_KINDS = frozenset(k for k, p in KIND_PLATFORM.items() if p is Platform.KUBERNETES)

_UNNAMESPACED = frozenset({ObjectKind.NAMESPACE, ObjectKind.CLUSTER, ObjectKind.NODE})


@dataclass(frozen=True)
class ObjectRef:
    """A named object. Kubernetes names are ``namespace/name`` (``name`` alone for a
    namespace, cluster or node)."""

    kind: ObjectKind
    name: str

    @property
    def platform(self) -> Platform | None:
        return KIND_PLATFORM[self.kind]

    @property
    def namespace(self) -> str:
        if self.kind in (ObjectKind.NAMESPACE, ObjectKind.CLUSTER, ObjectKind.NODE):
            return self.name if self.kind is ObjectKind.NAMESPACE else ""
        return self.name.split("/", 1)[0] if "/" in self.name else ""

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "name": self.name}


def pod_owner(pod: ObjectRef) -> ObjectRef | None:
    """The workload a pod belongs to, from the controllers' naming, or None."""
    if pod.kind is not ObjectKind.POD or not pod.namespace:
        return None
    owner = names.pod_owner(pod.short_name)
    if owner is None:
        return None
    kind, name = owner
    return ObjectRef(ObjectKind(kind), f"{pod.namespace}/{name}")


def classify_name(name: str, *, hint: ObjectKind | None = None) -> ObjectRef | None:
    """An ObjectRef for a bare name, using ``hint`` (a word the ticket put before it)."""
    name = name.strip()
    if not name or len(name) > 253:
        return None
    namespaced = hint in K8S_KINDS and hint not in _UNNAMESPACED
    if hint is not None and namespaced and "/" not in name and names.is_host_name(name):
        # "pod api-7d9f..." without a namespace: the kind is known, the namespace is not yet.
        return ObjectRef(hint, name.lower())
    if "/" in name and names.is_k8s_object(name):
        if hint in K8S_KINDS and hint not in (ObjectKind.NAMESPACE, ObjectKind.CLUSTER):
            return ObjectRef(hint, name)
        short = name.rsplit("/", 1)[-1]
        # <deployment>-<hash>-<suffix> and <statefulset>-<ordinal> are pod names.
        if names.pod_owner(short) is not None:
            return ObjectRef(ObjectKind.POD, name)
        return ObjectRef(ObjectKind.DEPLOYMENT, name)
    if hint is ObjectKind.INTERFACE and names.is_interface(name):
        return ObjectRef(ObjectKind.INTERFACE, name)
    if not (names.is_host_name(name) or names.is_ipv4_address(name)):
        return None  # an affected system may be a host's address: "10.42.0.9"
    if hint in (ObjectKind.NAMESPACE, ObjectKind.CLUSTER, ObjectKind.NODE):
        return ObjectRef(hint, name.lower())
    if hint is ObjectKind.VOLUME or (hint is None and names.is_volume_name(name)):
        return ObjectRef(ObjectKind.VOLUME, name)
    if hint in HOST_KINDS:
        return ObjectRef(hint, name)
    if hint is None and names.is_cluster_name(name):
        return ObjectRef(ObjectKind.CLUSTER, name.lower())
    return ObjectRef(ObjectKind.HOST, name)


def parse_affected(affected: str) -> ObjectRef | None:
    """``affected_system`` as an object: ``kind/name``, ``namespace/name`` or a host name.

    ``deployment/shop/web``, ``pod/payments/api-7d9f8b6c5-x2k4q`` and ``vm:prod-web-01``
    name the kind explicitly; otherwise it is read from the name's shape.
    """
    text = affected.strip()
    if not text:
        return None
    head, sep, rest = text.partition(":") if ":" in text else text.partition("/")
    hint = KIND_WORDS.get(head.lower()) if sep else None
    if hint is None and sep == ":" and names.is_interface(rest) and names.is_host_name(head):
        return ObjectRef(ObjectKind.DEVICE, head)  # "core-sw-01:Gi0/1"
    if hint is not None and rest:
        return classify_name(rest, hint=hint)
    return classify_name(text)


# Words that say what the next name is ("pod", "deploy", "sts", "switch", "lun"...). Data, so
# that wording can be added without code; tested in tests/remediation/catalogue/test_targets.py.
KIND_WORDS: dict[str, ObjectKind] = {
    "pod": ObjectKind.POD,
    "pods": ObjectKind.POD,
    "po": ObjectKind.POD,
    "deployment": ObjectKind.DEPLOYMENT,
    "deployments": ObjectKind.DEPLOYMENT,
    "deploy": ObjectKind.DEPLOYMENT,
    "statefulset": ObjectKind.STATEFULSET,
    "sts": ObjectKind.STATEFULSET,
    "pvc": ObjectKind.PVC,
    "persistentvolumeclaim": ObjectKind.PVC,
    "namespace": ObjectKind.NAMESPACE,
    "ns": ObjectKind.NAMESPACE,
    "cluster": ObjectKind.CLUSTER,
    "node": ObjectKind.NODE,
    "vm": ObjectKind.VM,
    "guest": ObjectKind.VM,
    "instance": ObjectKind.INSTANCE,
    "server": ObjectKind.HOST,
    "host": ObjectKind.HOST,
    "volume": ObjectKind.VOLUME,
    "vol": ObjectKind.VOLUME,
    "lun": ObjectKind.VOLUME,
    "datastore": ObjectKind.VOLUME,
    "switch": ObjectKind.DEVICE,
    "router": ObjectKind.DEVICE,
    "firewall": ObjectKind.DEVICE,
    "device": ObjectKind.DEVICE,
    "interface": ObjectKind.INTERFACE,
    "port": ObjectKind.INTERFACE,
    "iface": ObjectKind.INTERFACE,
}


def kind_refusal(operation: Operation, ref: ObjectRef, platform: Platform | None) -> str | None:
    """Why ``operation`` may not act on ``ref`` on a ticket about ``platform``, or None."""
    spec = operation.param(operation.target_param)
    wanted = spec.kind if spec is not None else None
    if wanted is None:
        return f"{operation.key} declares no target kind"
    # A volume is storage whatever it is attached to: "the data volume of that VM".
    attached = operation.platform is Platform.STORAGE and ref.kind is ObjectKind.VOLUME
    if platform is not None and platform is not operation.platform and not attached:
        return (
            f"{operation.key} is a {operation.platform.value} operation; "
            f"this ticket is about {platform.value}"
        )
    if ref.platform is not None and ref.platform is not operation.platform:
        return (
            f"{ref.name!r} is a {ref.kind.value} ({ref.platform.value}); {operation.key} acts "
            f"on a {wanted.value} ({operation.platform.value})"
        )
    if ref.kind is ObjectKind.HOST:
        if wanted in HOST_KINDS and platform is operation.platform:
            return None
        if wanted in HOST_KINDS:
            return f"{ref.name!r} could be any host; the ticket does not say it is a {wanted.value}"
    if ref.kind is not wanted and ref.kind is not ObjectKind.HOST:
        return f"{ref.name!r} is a {ref.kind.value}; {operation.key} takes a {wanted.value}"
    if ref.kind is ObjectKind.HOST:
        return f"{ref.name!r} is a host name; {operation.key} takes a {wanted.value}"
    return None


Related = frozenset[tuple[str, str]]
NO_RELATIONS: Related = frozenset()


# Affected systems that are a scope (a whole cluster, a namespace), not one object: they
# contain many objects, so the ticket's words could pick any of them.
SCOPE_KINDS = frozenset({ObjectKind.CLUSTER, ObjectKind.NAMESPACE})


def is_scope(affected: ObjectRef | None) -> bool:
    """Whether ``affected`` is a scope (cluster, namespace) rather than one object."""
    return affected is not None and affected.kind in SCOPE_KINDS


def observed_in_scope(ref: ObjectRef, scope: ObjectRef, related: Related) -> bool:
    """For a scope: ``ref`` is a target only when the platform showed it inside the scope,
    i.e. the scope itself was the object investigated (it is in ``related``) and ``ref`` is
    among what was read through it. Never by name (``default/web`` in namespace
    ``default``), never because the text named it and it was looked at."""
    if (scope.kind.value, scope.name) not in related:
        return False
    return ref == scope or (ref.kind.value, ref.name) in related


def belongs_to(ref: ObjectRef, affected: ObjectRef, related: Related = NO_RELATIONS) -> bool:
    """Whether ``ref`` is ``affected``, an object its name puts inside it, or an object the
    platform reported as related to it (``related``: (kind, name) pairs). For a scope
    (``is_scope``) only the platform's own answer counts (``observed_in_scope``)."""
    if is_scope(affected):
        return observed_in_scope(ref, affected, related)
    if ref.name.casefold() == affected.name.casefold():
        return True
    if (ref.kind.value, ref.name) in related:
        return True
    if ref.kind is ObjectKind.POD:
        owner = pod_owner(ref)
        if owner is not None and owner.name == affected.name:
            return affected.kind in (ObjectKind.DEPLOYMENT, ObjectKind.STATEFULSET, ObjectKind.HOST)
    if affected.kind is ObjectKind.POD and ref.kind in (
        ObjectKind.DEPLOYMENT,
        ObjectKind.STATEFULSET,
    ):
        owner = pod_owner(affected)
        return owner is not None and owner == ref
    if ref.platform is Platform.KUBERNETES and affected.kind is ObjectKind.NAMESPACE:
        return ref.namespace == affected.name
    return False


def scope_refusal(
    ref: ObjectRef, affected: ObjectRef | None, related: Related = NO_RELATIONS
) -> str | None:
    """Why ``ref`` is outside the ticket's affected system, or None when it is inside.

    With no affected system there is nothing to compare with; callers then accept only an
    object the ticket names unambiguously (one of its kind).
    """
    if affected is None or belongs_to(ref, affected, related):
        return None
    return (
        f"{ref.name!r} is not the affected system {affected.name!r} "
        "nor an object the platform lists as part of it"
    )


def target_refusal(
    operation: Operation,
    ref: ObjectRef,
    *,
    platform: Platform | None,
    affected: ObjectRef | None,
    related: Related = NO_RELATIONS,
) -> str | None:
    """The catalogue's target rule: kind and platform first, then scope."""
    return kind_refusal(operation, ref, platform) or scope_refusal(ref, affected, related)


MAX_SEGMENTS = 3


def canonical_affected(text: str) -> tuple[str, str | None]:
    """``affected_system`` as stored, and why it cannot be one (None when it can).

    An affected system names one object: ``prod-web-01``, ``vm:prod-web-01``,
    ``payments/api``, ``deployment/payments/api``, ``core-sw-01:Gi1/0/1`` (also written
    ``core-sw-01 Gi1/0/1``). Surrounding spaces and a scrape port (``prod-web-01:9100``) are
    dropped. A URL, a name starting or ending in
    ``/`` or ``:``, an empty or extra path segment is refused: ``default/`` named no object,
    which left the ticket's text to pick one."""
    value = text.strip()
    if not value:
        return "", None
    words = value.split()
    if len(words) == 2 and names.is_host_name(words[0]) and names.is_interface(words[1]):
        value = f"{words[0]}:{words[1]}"  # "core-sw-05 Gi0/3", as people write it
    elif len(words) > 1:
        return value, "one object name, without spaces"
    host, port = names.split_port(value)
    if port is not None and (names.is_host_name(host) or names.is_ip_address(host)):
        value = host
    if "://" in value or value.lower().startswith(("http:", "https:", "ftp:", "file:")):
        return value, "a URL is not a system name; name the object (e.g. prod-web-01)"
    if value.endswith(("/", ":")) or value.startswith(("/", ":")):
        return value, "must not start or end with '/' or ':'"
    if "//" in value or "::" in value:
        return value, "has an empty path segment"
    head, colon, rest = value.partition(":")
    if colon and "/" not in head and names.is_interface(rest):
        return value, None  # device:interface, whose interface may have its own slashes
    segments = value.split("/")
    if len(segments) > MAX_SEGMENTS:
        return value, "too many path segments: use namespace/name or kind/namespace/name"
    if len(segments) == MAX_SEGMENTS and segments[0].lower() not in KIND_WORDS:
        return value, f"{segments[0]!r} is not a kind: use namespace/name or kind/namespace/name"
    return value, None


# --- Objects named in a ticket's text ------------------------------------------------------

MAX_TEXT_CHARS = 20_000
MAX_OBJECTS = 100

_NAME = names.NAME_TOKEN
# Prometheus / Alertmanager labels: pod="api-7d9f8b6c5-x2k4q", namespace="payments".
_LABEL = re.compile(
    r"\b(pod|deployment|statefulset|namespace|persistentvolumeclaim|instance|node|volume|"
    r"device|interface|vm|host|server|switch)\s*[=:]\s*[\"']?(" + _NAME + r"(?:/" + _NAME + r")?)",
    re.IGNORECASE,
)
# kubectl style: pod/api-7d9f8b6c5-x2k4q, deploy/web, sts/db.
_KUBECTL = re.compile(
    r"(?<![\w/])(pods?|po|deployments?|deploy|statefulsets?|sts|pvc|persistentvolumeclaim)/("
    + _NAME
    + r")(?![\w/])",
    re.IGNORECASE,
)
# A kind word, then a name: "pod payments/api-...", "volume vol-data-01", "switch core-sw-01".
_KEYWORD_NAME = re.compile(
    r"\b("
    + "|".join(sorted(KIND_WORDS, key=len, reverse=True))
    + r")\s+[\"'`]?("
    + _NAME
    + r"(?:/"
    + _NAME
    + r")?)",
    re.IGNORECASE,
)


def _with_namespace(ref: ObjectRef | None, namespace: str) -> ObjectRef | None:
    if ref is None or ref.platform is not Platform.KUBERNETES or "/" in ref.name:
        return ref
    if ref.kind in (ObjectKind.NAMESPACE, ObjectKind.CLUSTER, ObjectKind.NODE):
        return ref
    if namespace and names.is_k8s_object(f"{namespace}/{ref.name}"):
        return ObjectRef(ref.kind, f"{namespace}/{ref.name}")
    return ref


def find_objects(text: str) -> list[ObjectRef]:
    """Objects the text names, most explicit first (labels, kubectl, kind words, shapes)."""
    text = text[:MAX_TEXT_CHARS]
    namespace = names.namespace(text)
    interfaces = {name.lower(): name for name in names.interface_names(text)}
    found: list[ObjectRef] = []
    for candidate in _candidates(text, interfaces):
        ref = _with_namespace(candidate, namespace)
        if ref is None or names.is_not_a_name(ref.short_name) or ref in found:
            continue
        if ref.name.lower() in names.WORD_PAIRS:
            continue
        found.append(ref)
        if len(found) >= MAX_OBJECTS:
            break
    return found


def _candidates(text: str, interfaces: Mapping[str, str]) -> Iterator[ObjectRef | None]:
    """Every name the text may be naming, in the order of how explicitly it says so."""
    for match in _LABEL.finditer(text):
        word = match.group(1).lower()
        hint = ObjectKind.PVC if word == "persistentvolumeclaim" else KIND_WORDS.get(word)
        if word == "instance" and ":" in text[match.end(2) : match.end(2) + 1]:
            continue  # instance="10.0.0.5:9100" is a scrape target, not an OpenStack instance
        yield classify_name(match.group(2), hint=hint)
    for match in _KUBECTL.finditer(text):
        word = match.group(1).lower().rstrip("s") if match.group(1).lower() != "sts" else "sts"
        yield classify_name(match.group(2), hint=KIND_WORDS.get(word, KIND_WORDS.get(word + "s")))
    for match in _KEYWORD_NAME.finditer(text):
        hint = KIND_WORDS[match.group(1).lower()]
        name = match.group(2).rstrip(".")
        if hint is ObjectKind.INTERFACE and name.lower() not in interfaces:
            continue
        if hint is not ObjectKind.INTERFACE and not re.search(r"[0-9/_-]", name):
            continue  # "pod restarted", "the vm is": a word, not a name
        yield classify_name(name, hint=hint)
    for pair in names.k8s_pairs(text):
        yield classify_name(pair)
    for name in interfaces.values():
        yield ObjectRef(ObjectKind.INTERFACE, name)
    for word in names.host_words(text):
        if word.lower() not in interfaces:
            yield classify_name(word)


def choose_target(
    operation: Operation,
    *,
    affected: ObjectRef | None,
    objects: list[ObjectRef],
    platform: Platform | None,
    related: Related = NO_RELATIONS,
) -> tuple[ObjectRef | None, str, bool]:
    """The object ``operation`` should act on: (ref, reason when None, derived).

    The affected system itself when it is of the right kind; otherwise the one object of the
    right kind that belongs to it (a pod of that deployment, the deployment owning that pod,
    a volume of that host); with no affected system, the one object of that kind the ticket
    names. Several candidates are ambiguous: none is chosen.
    """
    if affected is not None and kind_refusal(operation, affected, platform) is None:
        return affected, "", False
    pool = list(objects)
    if affected is not None and affected.kind is ObjectKind.POD:
        owner = pod_owner(affected)
        if owner is not None:
            pool.append(owner)
    pool += [o for o in (pod_owner(p) for p in objects if p.kind is ObjectKind.POD) if o]
    fitting: list[ObjectRef] = []
    refusals: list[str] = []
    for ref in pool:
        reason = target_refusal(
            operation, ref, platform=platform, affected=affected, related=related
        )
        if reason is None:
            # The same name found as a host and as a VM is one object.
            if all(ref.name.casefold() != f.name.casefold() for f in fitting):
                fitting.append(ref)
        elif ref.kind is (operation.param(operation.target_param) or operation.params[0]).kind:
            refusals.append(reason)
    spec = operation.param(operation.target_param)
    wanted = spec.kind.value if spec is not None and spec.kind is not None else "target"
    if len(fitting) == 1:
        return fitting[0], "", True
    if len(fitting) > 1:
        names = ", ".join(repr(r.name) for r in fitting[:4])
        return None, f"several {wanted}s could be meant ({names})", False
    if affected is not None:
        detail = kind_refusal(operation, affected, platform)
        why = refusals[0] if refusals else detail
        return None, f"no {wanted} within the affected system {affected.name!r} ({why})", False
    return None, f"no {wanted} was named in the ticket (set affected_system)", False
