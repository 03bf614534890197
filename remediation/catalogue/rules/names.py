# ruff: noqa: E501  (the table of spellings: one family per line reads better than wrapped)
"""Names read from text, once: interfaces, Kubernetes namespaces and objects, hosts and
FQDNs, volumes, ports and IP addresses. Pure: no Django, plain values in and out.

The target rules (``catalogue.rules.targets``), the investigation's subjects
(``investigation.rules.subjects``) and the analysis (``analysis.rules``) all read names
through this module, so the three cannot give different answers for the same text. Text is
untrusted: every reader cuts it to ``MAX_TEXT_CHARS`` first, and every regex here is linear
(bounded repetitions, no nested quantifiers).

Accepted spellings
------------------
**Interfaces** (``INTERFACE_FAMILIES``, one row per family, its spellings and numbering):

* Cisco IOS / IOS-XE / NX-OS and Arista EOS, long and short: ``GigabitEthernet0/1``
  (``Gi0/1``), ``TenGigabitEthernet1/0/1`` (``Te1/0/1``), ``FastEthernet0/1`` (``Fa0/1``),
  ``TwoGigabitEthernet``/``FiveGigabitEthernet``/``TwentyFiveGigE``/``FortyGigabitEthernet``/
  ``HundredGigE`` (``Tw``, ``Fi``, ``Twe``, ``Fo``, ``Hu``), ``Ethernet1`` or ``Ethernet1/1``
  (``Eth1/1``, ``Et1``), ``Port-channel1`` (``Po1``), ``Vlan10`` (``Vl10``), ``Loopback0``
  (``Lo0``), ``Management1``/``mgmt0`` (``Ma1``), ``Serial0/0/0``, ``Tunnel1``. Numbering:
  up to five numbers joined by ``/``, ``:`` or ``.`` (``Te1/1/1.100``, ``Ethernet1/1:2``).
* Juniper Junos: ``xe-0/0/1``, ``ge-0/0/0``, ``et-0/0/0`` (FPC/PIC/port, then an optional
  ``:channel`` and ``.unit``), ``ae0``, ``lo0``, ``irb.100``, ``fxp0``, ``em0``, ``me0``.
* Linux: ``eth0``, ``bond0``, the systemd predictable names ``eno1``, ``ens3``, ``ens3f0``,
  ``enp0s3``, ``enp3s0f1``, then an optional VLAN ``.100`` or alias ``:1``.

Why these: they are the names the devices and hosts themselves print (``show interfaces``,
``ip link``), which is what alerts (SNMP ``ifName``/``ifDescr``, node-exporter's ``device``)
and people copy into tickets; one spelling of each family is enough for a connector to find
the port. Prefixes are read case-insensitively (``gi0/1``, ``GI0/1``), except that a short
abbreviation (two letters or fewer) written without a ``/`` and all in capitals (``PO1234``,
``TE1``) is not taken: it is far more often an order number or a unit than a port. Cisco,
Arista and Juniper families are a network device's ports (``InterfaceName.switch``); Linux
names are a host's NICs, which no network operation acts on.

**Kubernetes**: a namespace is a DNS-1123 label (lowercase, digits, ``-``, at most 63); an
object is ``namespace/name``. A namespace is read from ``-n x``, ``--namespace x`` /
``--namespace=x``, ``namespace: x`` / ``namespace=x`` / ``namespace x`` (any case, the
value lowercased), ``in the namespace x``, ``ns=x`` / ``ns: x``. Not ``ns x``: "30 ns
spikes" is a duration. A text that names two different namespaces names none
(``namespace``). Pods are recognised by their controllers' naming (``pod_owner``).

**Hosts**: a host name is ASCII letters, digits, ``-``, ``_`` and single dots, starting and
ending with a letter or digit, at most 64 characters, and not an IP address nor all digits
and dots. An FQDN is a host name with dots; its short name is its first label. A port is
``:N`` with N at most 65535; a URL's host is read from its authority.

**Volumes**: a name starting ``vol``, ``volume``, ``lun``, ``pv``, ``pvc`` or ``disk`` then
``-`` or ``_`` (``vol-data-01``, ``lun_07``, ``pvc-3f1c…``: dynamic provisioners name the
backing volume after the claim), that is also a host-name-shaped identifier.

**IP addresses**: IPv4 dotted quads (each part 0-255) and IPv6 (``2001:db8::1``, also in
brackets with a port, ``[2001:db8::1]:9100``). An address in an alert's labels is the
scrape target, not the object (``host_of`` gives ""); an IPv4 address given as the affected
system is a host, as the submitter named it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_TEXT_CHARS = 20_000
MAX_FOUND = 100
MAX_PORT = 65_535

# --- Identifier shapes (also the catalogue's parameter checks) ------------------------------

# ASCII only, start and end alphanumeric, no "..": whatever a connector does with the value
# (an API path, a CLI argument), it cannot be a path traversal, an option ("-rf") or
# whitespace-separated injection.
HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,62}(?<=[A-Za-z0-9])$")
NAMESPACE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Kubernetes objects are always namespace/name (DNS-1123): a bare name would mean whatever
# namespace a connector defaults to, and "default" is rarely what an operator meant.
K8S_OBJECT = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?/[a-z0-9](?:[a-z0-9-]|\.(?!\.)){0,252}(?<=[a-z0-9])$"
)
# A name as written in prose after the word that says its kind ("pod <name>").
NAME_TOKEN = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?"  # noqa: S105 (a regex)
_DIGITS_AND_DOTS = re.compile(r"^[0-9.]+$")


# --- Interfaces ------------------------------------------------------------------------------

_N = r"[0-9]{1,5}"
_SLOTS = rf"{_N}(?:[/:.]{_N}){{0,4}}"  # 0/1, 1/0/24, Te1/1/1.100, Ethernet1/1:2, Po1
_JUNOS = rf"{_N}/{_N}/{_N}(?::{_N})?(?:\.{_N})?"  # FPC/PIC/port[:channel][.unit]
_INDEX = rf"{_N}(?:\.{_N})?"  # ae0, lo0.0, irb.100 (below), em0
_LINUX = rf"(?:[.:]{_N})?"  # eth0.100 (VLAN), eth0:1 (alias)


@dataclass(frozen=True)
class InterfaceFamily:
    """One family of interface names: its spellings (long form first), how the number after
    the spelling is written, the vendors that print it, and whether it is a network
    device's port (``switch``) or a host's NIC."""

    name: str
    spellings: tuple[str, ...]
    numbering: str
    vendors: str
    switch: bool = True


# fmt: off
INTERFACE_FAMILIES: tuple[InterfaceFamily, ...] = (
    InterfaceFamily("HundredGigE", ("HundredGigabitEthernet", "HundredGigE", "Hu"), _SLOTS, "cisco"),
    InterfaceFamily("FortyGigabitEthernet", ("FortyGigabitEthernet", "FortyGigE", "Fo"), _SLOTS, "cisco"),
    InterfaceFamily("TwentyFiveGigE", ("TwentyFiveGigabitEthernet", "TwentyFiveGigE", "Twe"), _SLOTS, "cisco"),
    InterfaceFamily("TenGigabitEthernet", ("TenGigabitEthernet", "TenGigE", "Te"), _SLOTS, "cisco"),
    InterfaceFamily("FiveGigabitEthernet", ("FiveGigabitEthernet", "Fi"), _SLOTS, "cisco"),
    InterfaceFamily("TwoGigabitEthernet", ("TwoGigabitEthernet", "Tw"), _SLOTS, "cisco"),
    InterfaceFamily("GigabitEthernet", ("GigabitEthernet", "GigE", "Gi"), _SLOTS, "cisco"),
    InterfaceFamily("FastEthernet", ("FastEthernet", "Fa"), _SLOTS, "cisco"),
    # Linux eth0 is tried before NX-OS Eth1/1 and Arista Ethernet1 / Et1: only a slot
    # ("/") makes "eth" a switch's port.
    InterfaceFamily("eth", ("eth",), _N + _LINUX, "linux", switch=False),
    InterfaceFamily("Ethernet", ("Ethernet", "Eth", "Et"), _SLOTS, "cisco nx-os, arista"),
    InterfaceFamily("Port-channel", ("Port-channel", "Port-Channel", "Po"), _SLOTS, "cisco, arista"),
    InterfaceFamily("Vlan", ("Vlan", "Vl"), _N, "cisco, arista"),
    InterfaceFamily("Loopback", ("Loopback", "Lo"), _INDEX, "cisco, arista, juniper (lo0)"),
    InterfaceFamily("Management", ("Management", "mgmt", "Ma"), _SLOTS, "cisco, arista"),
    InterfaceFamily("Serial", ("Serial", "Se"), _SLOTS, "cisco"),
    InterfaceFamily("Tunnel", ("Tunnel", "Tu"), _N, "cisco"),
    InterfaceFamily("xe", ("xe-",), _JUNOS, "juniper"),
    InterfaceFamily("ge", ("ge-",), _JUNOS, "juniper"),
    InterfaceFamily("et", ("et-",), _JUNOS, "juniper"),
    InterfaceFamily("ae", ("ae",), _INDEX, "juniper"),
    InterfaceFamily("irb", ("irb.",), _N, "juniper"),
    InterfaceFamily("fxp", ("fxp", "me"), _INDEX, "juniper"),
    InterfaceFamily("bond", ("bond",), _N + _LINUX, "linux", switch=False),
    InterfaceFamily("em", ("em",), _N + _LINUX, "linux, juniper", switch=False),
    # systemd predictable names: on-board eno<i>, hot-plug slot ens<s>[f<f>], PCI enp<b>s<s>[f<f>].
    InterfaceFamily("eno", ("eno",), _N + _LINUX, "linux", switch=False),
    InterfaceFamily("ens", ("ens",), rf"{_N}(?:f{_N})?(?:d{_N})?" + _LINUX, "linux", switch=False),
    InterfaceFamily("enp", ("enp",), rf"{_N}s{_N}(?:f{_N})?(?:d{_N})?" + _LINUX, "linux", switch=False),
)
# fmt: on


def _family_pattern(family: InterfaceFamily) -> str:
    spellings = sorted(family.spellings, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(s) for s in spellings) + ")" + family.numbering


# One named group per family, tried in the table's order, longest spelling first within a
# family ("Ethernet" before "Et").
_GROUPS = {f"f{i}": family for i, family in enumerate(INTERFACE_FAMILIES)}
_ALTERNATION = "|".join(f"(?P<{key}>{_family_pattern(family)})" for key, family in _GROUPS.items())
INTERFACE_NAME = re.compile(rf"^(?:{_ALTERNATION})$", re.IGNORECASE)
INTERFACE_IN_TEXT = re.compile(
    rf"(?<![\w/.-])(?:{_ALTERNATION})(?![\w/-]|[.:][0-9])", re.IGNORECASE
)


@dataclass(frozen=True)
class InterfaceName:
    name: str  # as written
    family: str
    switch: bool


def _interface(match: re.Match[str]) -> InterfaceName | None:
    key = match.lastgroup
    family = _GROUPS.get(key or "")
    if family is None:
        return None
    name = match.group(0)
    prefix = re.match(r"[A-Za-z-]+\.?", name)
    head = prefix.group(0) if prefix else ""
    if len(head.rstrip("-.")) <= 2 and head.isupper() and "/" not in name:
        return None  # "PO1234", "TE1": an order number or a unit, not a port
    return InterfaceName(name, family.name, family.switch)


def interface(name: str) -> InterfaceName | None:
    """``name`` as an interface, or None when it is no accepted spelling."""
    if len(name) > 64:
        return None
    match = INTERFACE_NAME.match(name)
    return _interface(match) if match else None


def is_interface(name: str) -> bool:
    return interface(name) is not None


def interfaces(text: str) -> tuple[InterfaceName, ...]:
    """Interface names the text mentions, first mention first, each once."""
    found: dict[str, InterfaceName] = {}
    for match in INTERFACE_IN_TEXT.finditer(text[:MAX_TEXT_CHARS]):
        one = _interface(match)
        if one is not None and one.name.lower() not in found:
            found[one.name.lower()] = one
            if len(found) >= MAX_FOUND:
                break
    return tuple(found.values())


def interface_names(text: str) -> tuple[str, ...]:
    return tuple(i.name for i in interfaces(text))


# --- Kubernetes ------------------------------------------------------------------------------

_NAMESPACE_IN_TEXT = re.compile(
    r"(?:(?<!\S)-n\s{1,3}|--namespace[= ]\s{0,3}|\bnamespace\s{0,3}[=:\s]\s{0,3}[\"']?"
    r"|\bns[=:]\s{0,3}[\"']?)"
    r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
# A Deployment's pods are named <deployment>-<pod-template-hash>-<5 random chars>; a
# StatefulSet's <statefulset>-<ordinal>.
_DEPLOYMENT_POD = re.compile(
    r"^(?P<owner>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-[a-z0-9]{6,10}-[a-z0-9]{5}$"
)
_STATEFUL_POD = re.compile(r"^(?P<owner>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-(?P<ordinal>[0-9]{1,4})$")
# A cluster named as the affected system: "k8s-prod-01", "eks-payments", "ocp-lab".
_CLUSTER_NAME = re.compile(
    r"(?:^|[-_.])(?:k8s|kube|kubernetes|cluster|eks|gke|aks|ocp|openshift)(?:$|[-_.0-9])"
)
_K8S_PAIR = re.compile(r"(?<![\w./-])([a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9.-]{0,252})(?![\w/:])")
WORD_PAIRS = frozenset(
    {"and/or", "tcp/ip", "read/write", "on/off", "yes/no", "input/output", "i/o"}
)


def namespaces(text: str) -> tuple[str, ...]:
    """Every Kubernetes namespace the text names, lowercased, first mention first."""
    found = dict.fromkeys(
        m.group(1).lower() for m in _NAMESPACE_IN_TEXT.finditer(text[:MAX_TEXT_CHARS])
    )
    return tuple(found)[:MAX_FOUND]


def namespace(text: str) -> str:
    """The one namespace the text names; "" when it names none, or several."""
    found = namespaces(text)
    return found[0] if len(found) == 1 else ""


def is_namespace(name: str) -> bool:
    return bool(NAMESPACE_NAME.fullmatch(name))


def is_k8s_object(name: str) -> bool:
    """``namespace/name`` as Kubernetes writes it."""
    return bool(K8S_OBJECT.fullmatch(name))


def pod_owner(short_name: str) -> tuple[str, str] | None:
    """("deployment" | "statefulset", owner name) that a pod's name says it belongs to."""
    match = _DEPLOYMENT_POD.match(short_name)
    if match:
        return "deployment", match["owner"]
    match = _STATEFUL_POD.match(short_name)
    if match:
        return "statefulset", match["owner"]
    return None


def is_cluster_name(name: str) -> bool:
    return bool(_CLUSTER_NAME.search(name.lower()))


def k8s_pairs(text: str) -> tuple[str, ...]:
    """``namespace/name`` pairs written in prose; both halves must hold a letter
    ("kworker/2", "1/3" are not namespace/name) and common word pairs are not taken."""
    found: list[str] = []
    for match in _K8S_PAIR.finditer(text[:MAX_TEXT_CHARS]):
        pair = match.group(1)
        if pair in WORD_PAIRS or not all(re.search("[a-z]", half) for half in pair.split("/")):
            continue
        if pair not in found:
            found.append(pair)
            if len(found) >= MAX_FOUND:
                break
    return tuple(found)


# --- Hosts, ports, IP addresses --------------------------------------------------------------

_HOST_IN_TEXT = re.compile(r"(?<![\w./:-])([A-Za-z][A-Za-z0-9_-]{0,62})(?![\w/:]|\.\w)")
_URL = re.compile(
    r"^[a-z][a-z0-9+.-]{0,20}://(?:[^@/]{0,200}@)?(\[[0-9A-Fa-f:.]{2,45}\]|[^:/?#\[\]]{1,253})",
    re.I,
)
_PORT = re.compile(r"^(.{1,253}):([0-9]{1,5})$")
# Names that look like hosts but are ticket ids, standards, units or encodings.
_NOT_A_NAME = re.compile(
    r"^(?:inc|chg|req|prb|ritm|task|cve|rfc|http|https|utf|sha|ipv|tls|ssl|jira|md|x|h|v|sev|p"
    r"|m1|t2|t3|m5|c5|r5|exit|code|rev|revision|k8s|node_exporter)[-_.]?\d",
    re.IGNORECASE,
)


def is_ip_address(text: str) -> bool:
    """An IPv4 (dotted quad, each part 0-255) or IPv6 address, without brackets or port."""
    if not text or len(text) > 45 or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_ipv4_address(text: str) -> bool:
    return "." in text and ":" not in text and is_ip_address(text)


def is_host_name(name: str) -> bool:
    """A host name (``prod-web-01``, ``prod-web-07.corp.example.com``); never an address."""
    return bool(HOST_NAME.fullmatch(name)) and not _DIGITS_AND_DOTS.match(name)


def is_fqdn(name: str) -> bool:
    return "." in name and is_host_name(name)


def short_host(name: str) -> str:
    """The first label of an FQDN; a short name as it is; "" for anything else."""
    if not is_host_name(name):
        return ""
    return name.split(".", 1)[0]


def split_port(value: str) -> tuple[str, int | None]:
    """(host, port) of ``host:port``, ``[v6]:port`` or ``v6``; the value as it is, port None,
    when it has no port (an IPv6 address's own colons are not one)."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        inner, _, rest = value[1:].partition("]")
        if is_ip_address(inner) and (not rest or (rest[0] == ":" and _port(rest[1:]) is not None)):
            return inner, _port(rest[1:]) if rest else None
        return value, None
    if is_ip_address(value):
        return value, None
    match = _PORT.match(value)
    if match and ":" not in match.group(1) and (port := _port(match.group(2))) is not None:
        return match.group(1), port
    return value, None


def _port(digits: str) -> int | None:
    if not digits.isdigit() or len(digits) > 5:
        return None
    number = int(digits)
    return number if number <= MAX_PORT else None


def url_host(value: str) -> str | None:
    """The host of a URL (``http://app-01:8080/healthz`` → ``app-01``), None if no URL."""
    match = _URL.match(value.strip())
    if match is None:
        return None
    host = match.group(1)
    return host[1:-1] if host.startswith("[") else host


def host_of(value: str) -> str:
    """The host a label value or address names: a URL's host, without ``:port``; "" when
    that is no host name (an IP address included)."""
    host = url_host(value)
    if host is None:
        host, _ = split_port(value)
    return host if is_host_name(host) else ""


def host_words(text: str) -> Iterator[str]:
    """Words of prose shaped like host names: a letter first, a digit in them, not part of a
    path, a URL or an FQDN's later labels ("prod-web-01", "fileserver-01")."""
    for match in _HOST_IN_TEXT.finditer(text[:MAX_TEXT_CHARS]):
        word = match.group(1)
        if any(c.isdigit() for c in word):
            yield word


def is_not_a_name(name: str) -> bool:
    """Shaped like a name but a ticket id, a standard, a unit or an encoding
    (``INC12345``, ``CVE-2024-1``, ``utf-8``, ``m5.large``)."""
    return bool(_NOT_A_NAME.match(name))


# --- Volumes ---------------------------------------------------------------------------------

_VOLUME_NAME = re.compile(r"^(?:vol|volume|lun|pv|pvc|disk)[-_][A-Za-z0-9_.-]+$", re.IGNORECASE)


def is_volume_name(name: str) -> bool:
    """``vol-data-01``, ``lun_07``, ``pvc-3f1c…``: a volume by its name alone."""
    return bool(_VOLUME_NAME.match(name)) and is_host_name(name)


def volume_in_path(value: str) -> str:
    """The volume a mount point or export names (``/mnt/vol-data-02``,
    ``filer01:/vol-data-02``), or ""."""
    base = value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return base if is_volume_name(base) else ""
