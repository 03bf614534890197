"""Connector profiles: what a connector's read tools answer, as the observations the rules
read. Pure: no Django, no I/O.

A profile is data kept with the connector (``PlatformConnector.profile``)::

    {"examples": {"vm": "prod-web-01", ...},          # known objects check_connector asks
     "observations": [
        {"observation": "vm.guest_heartbeat", "tool": "get_vm", "path": "guest_heartbeat",
         "unit": "text"},
        {"observation": "pod.restarts_rate", "tool": "execute_query",
         "args": {"query": "{query}"},
         "query": "rate(kube_pod_container_status_restarts_total{namespace=$namespace, "
                  "pod=$pod}[5m])",
         "path": "result.0.value.1", "unit": "per_second"}]}

An entry without ``query`` reads the answer of one of the connector's listed investigation
tools for that kind (called once per object). An entry with a PromQL ``query`` is a call of
its own: ``$name`` placeholders in the query are replaced by the object's label values,
always as escaped PromQL string literals (``promql_string``), so a name an alert or a
ticket wrote can never change the query's shape. ``path`` is where the value sits in the
answer (dots; a number indexes a list). ``unit`` is the answer's unit, converted to the
observation's own (``OBSERVATIONS``).

The observation names are the vocabulary of ``investigation.rules.observations``: no rule
reads a platform's field name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remediation.catalogue.rules import names

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "text": ("text", 1.0),
    "bool": ("bool", 1.0),
    "json": ("json", 1.0),
    "number": ("number", 1.0),
    "count": ("number", 1.0),
    "dbm": ("dbm", 1.0),
    "percent": ("fraction", 1.0),
    "ratio": ("fraction", 100.0),
    "bytes": ("size", 1.0),
    "kib": ("size", 1024.0),
    "mib": ("size", 1024.0**2),
    "gib": ("size", 1024.0**3),
    "ms": ("time", 0.001),
    "seconds": ("time", 1.0),
    "minutes": ("time", 60.0),
    "hours": ("time", 3600.0),
    "per_second": ("rate", 1.0),
    "per_minute": ("rate", 1 / 60),
    "per_hour": ("rate", 1 / 3600),
    "bytes_per_second": ("throughput", 1.0),
    "kib_per_second": ("throughput", 1024.0),
    "gib_per_day": ("throughput", 1024.0**3 / 86400),
    # IF-MIB's ifOperStatus / ifAdminStatus numbers, read as the words a switch prints.
    "if_status": ("text", 1.0),
}
IF_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}


@dataclass(frozen=True)
class Observation:
    unit: str
    about: str


def _o(unit: str, about: str) -> Observation:
    return Observation(unit, about)


# Every observation a rule reads: its name (``kind.what``), its unit, what it means.
OBSERVATIONS: dict[str, Observation] = {
    # VMware and the guest
    "vm.guest_heartbeat": _o("text", "guest heartbeat colour (green, yellow, red, gray)"),
    "vm.heartbeat_age": _o("seconds", "how long the heartbeat has been that colour"),
    "vm.tools_status": _o("text", "VMware Tools status (toolsOk, toolsNotRunning, ...)"),
    "vm.answers_ping": _o("bool", "the guest's IP answers ping"),
    "vm.console": _o("text", "the last console line"),
    "vm.up": _o("bool", "the guest's node_exporter answers its scrape (up)"),
    "vm.powered_on": _o("bool", "the VM is powered on"),
    "vm.memory": _o("gib", "configured memory"),
    "vm.cpus": _o("count", "configured vCPUs"),
    "vm.host": _o("text", "the ESXi host it runs on"),
    "vm.memory_used_pct": _o("percent", "guest memory in use"),
    "vm.swap_used_pct": _o("percent", "guest swap in use"),
    "vm.swap_in_rate": _o("kib_per_second", "swap-in throughput"),
    "vm.major_faults_rate": _o("per_second", "major page faults"),
    "vm.ballooned": _o("mib", "memory the hypervisor ballooned out of the guest"),
    "vm.swapped": _o("mib", "memory the hypervisor swapped"),
    "vm.cpu_usage_pct": _o("percent", "CPU in use, of its vCPUs"),
    "vm.cpu_ready_pct": _o("percent", "CPU ready time"),
    "vm.load_per_cpu": _o("number", "1-minute load average per vCPU"),
    "vm.filesystem_used_pct": _o("percent", "space in use on the guest's fullest filesystem"),
    "vm.filesystem_inodes_used_pct": _o("percent", "inodes in use, the guest's fullest"),
    "vm.network_errors_rate": _o("per_minute", "the guest's network errors, in and out"),
    "host.cpu_usage_pct": _o("percent", "the host's CPU in use"),
    "host.free_memory": _o("gib", "the host's free memory"),
    "host.free_cpus": _o("count", "the host's free CPUs"),
    "host.connection_state": _o("text", "the host's connection state"),
    "host.vcpu_per_pcpu": _o("number", "vCPU to pCPU ratio"),
    # Kubernetes
    "pod.state": _o("text", "the pod's state (Running, CrashLoopBackOff, ...)"),
    "pod.ready": _o("bool", "the pod is ready"),
    "pod.restarts": _o("count", "container restarts so far"),
    "pod.restarts_rate": _o("per_hour", "container restarts per hour lately"),
    "pod.waiting_reason": _o("text", "why the container waits (CrashLoopBackOff, ...)"),
    "pod.last_terminated_reason": _o("text", "why the container last ended (OOMKilled, ...)"),
    "pod.last_exit_code": _o("number", "the container's last exit code"),
    "pod.liveness_failures_rate": _o("per_minute", "failed liveness probes lately"),
    "pod.memory_limit": _o("mib", "the container's memory limit"),
    "pod.memory_usage": _o("mib", "the container's memory in use"),
    "pod.events": _o("json", "the pod's recent events"),
    "pod.owner": _o("text", "the deployment it belongs to (namespace/name)"),
    "pod.log_lines": _o("json", "the container's last log lines"),
    "pod.namespace_deployments": _o("json", "the deployments of its namespace (series)"),
    "deployment.replicas": _o("count", "desired replicas"),
    "deployment.available_replicas": _o("count", "available (ready) replicas"),
    "deployment.max_replicas": _o("count", "the replica quota"),
    "deployment.revision": _o("count", "the current revision"),
    "deployment.generation_changes": _o("count", "spec changes (generation) in the last hour"),
    "deployment.error_rate_pct": _o("percent", "HTTP error rate now"),
    "deployment.error_rate_before_pct": _o("percent", "HTTP error rate before the last rollout"),
    "deployment.p95_latency": _o("ms", "p95 latency now"),
    "deployment.p95_latency_before": _o("ms", "p95 latency before the last rollout"),
    "deployment.errors_rising_since": _o("minutes", "errors rising since"),
    "deployment.last_rollout_ago": _o("minutes", "time since the last rollout"),
    "deployment.cpu_pct_of_requests": _o("percent", "CPU in use, of its requests"),
    "deployment.cpu_pct_of_limits": _o("percent", "its containers' CPU in use, of their limits"),
    "deployment.cpu_throttled_pct": _o("percent", "CFS periods in which its limit throttled it"),
    "deployment.probe_success": _o("bool", "its service answers a 2xx probe"),
    "deployment.probe_status_code": _o("number", "the probe's HTTP status code"),
    "deployment.probe_duration": _o("seconds", "the probe's duration"),
    # Network
    "device.up": _o("bool", "the device answers SNMP (up)"),
    "interface.admin_status": _o("text", "admin status (up, down)"),
    "interface.oper_status": _o("text", "operational status (up, down, err-disabled)"),
    "interface.in_errors_total": _o("count", "input errors counted"),
    "interface.in_errors_rate": _o("per_minute", "input errors now"),
    "interface.out_errors_rate": _o("per_minute", "output errors now"),
    "interface.flaps": _o("count", "state changes in the last hour"),
    "interface.rx_power": _o("dbm", "optical receive power"),
    "interface.errdisable_violations": _o("count", "violations in the last 15 minutes"),
    "interface.errdisable_reason": _o("text", "why the port was err-disabled"),
    "interface.last_error_ago": _o("minutes", "time since the last error"),
    # Storage
    "volume.used_pct": _o("percent", "space in use"),
    "volume.used": _o("gib", "space in use"),
    "volume.size": _o("gib", "size"),
    "volume.snapshots_size": _o("gib", "space held by snapshots"),
    "volume.inodes_used_pct": _o("percent", "inodes in use"),
    "volume.file_data": _o("gib", "file data"),
    "volume.top_directories": _o("json", "largest directories [{path, gb}]"),
    "volume.growth": _o("gib_per_day", "growth"),
    "volume.snapshots": _o("json", "snapshots [{age_days, ...}]"),
    # OpenStack
    "instance.status": _o("text", "status (ACTIVE, ERROR, ...)"),
    "instance.system_check": _o("text", "the system status check"),
    "instance.guest_check": _o("text", "the instance status check"),
    "instance.up": _o("bool", "the guest's node_exporter answers its scrape (up)"),
    "instance.cpu_pct": _o("percent", "CPU in use"),
    "instance.memory_used_pct": _o("percent", "memory in use"),
    "instance.filesystem_used_pct": _o("percent", "space in use on its fullest filesystem"),
    "instance.filesystem_inodes_used_pct": _o("percent", "inodes in use, its fullest"),
    "instance.network_errors_rate": _o("per_minute", "its network errors, in and out"),
    "instance.flavor": _o("text", "the flavor"),
    "instance.vcpus": _o("count", "its flavor's vCPUs"),
    "instance.load1": _o("number", "the guest's 1-minute load average"),
    "instance.fault": _o("json", "the fault the cloud reports"),
    "instance.console_tail": _o("json", "the console's last lines"),
}
KINDS = ("vm", "host", "pod", "deployment", "device", "interface", "volume", "instance")
QUERY_TOOLS = frozenset({"execute_query"})  # tools whose argument is a PromQL query
MAX_ENTRIES = 200
MAX_QUERY_CHARS = 1000
MAX_PATH_CHARS = 200
PATH = re.compile(r"^[A-Za-z0-9_\-]{1,64}(?:\.[A-Za-z0-9_\-]{1,64}){0,15}$")
ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")
ARG_PLACEHOLDERS = ("{name}", "{device}", "{interface}", "{query}")
# $label placeholders a query may use, per kind (``label_values``).
QUERY_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "vm": ("name", "host", "node_instance", "host_re", "node_instance_re"),
    "host": ("name", "host", "host_re"),
    "instance": ("name", "host", "node_instance", "host_re", "node_instance_re"),
    "pod": ("name", "namespace", "pod"),
    "deployment": ("name", "namespace", "deployment", "service_url", "pods_re"),
    "device": ("name", "device"),
    "interface": ("name", "device", "interface"),
    "volume": ("name", "namespace", "claim"),
}
_PLACEHOLDER = re.compile(r"\$([a-z_]+)")
NODE_EXPORTER_PORT = 9100
SERVICE_PORT = 8080


def kind_of(observation: str) -> str:
    return observation.split(".", 1)[0]


# --- Validation --------------------------------------------------------------------------


def profile_errors(
    profile: Any, listed: Mapping[str, Sequence[str]], readable: frozenset[str]
) -> list[str]:
    """What is wrong with a profile (empty: nothing); each problem names the entry and field.

    ``listed``: the connector's listed investigation tools, per kind (a path-only entry
    must read one of them); ``readable``: the project's registry of read-only tools (a
    query entry's tool must be one: a profile never names a write)."""
    if profile in (None, {}, []):
        return []
    if not isinstance(profile, dict) or set(profile) - {"examples", "observations"}:
        return ['Must be an object with "observations" (a list) and optional "examples".']
    problems: list[str] = []
    examples = profile.get("examples", {})
    if not isinstance(examples, dict) or not all(
        k in KINDS and isinstance(v, str) and 0 < len(v) <= 253 for k, v in examples.items()
    ):
        problems.append(f"examples: map a kind ({', '.join(KINDS)}) to an object's name.")
    entries = profile.get("observations", [])
    if not isinstance(entries, list):
        return [*problems, "observations: must be a list."]
    if len(entries) > MAX_ENTRIES:
        return [*problems, f"observations: at most {MAX_ENTRIES} entries."]
    for n, entry in enumerate(entries):
        problems.extend(_entry_errors(n, entry, listed, readable))
    return problems


def _entry_errors(
    n: int, entry: Any, listed: Mapping[str, Sequence[str]], readable: frozenset[str]
) -> list[str]:
    where = f"observations[{n}]"
    allowed = {"observation", "tool", "args", "query", "path", "unit"}
    if not isinstance(entry, dict):
        return [f"{where}: must be an object with observation, tool, path and unit."]
    extra = sorted(str(k) for k in set(entry) - allowed)
    if extra:
        return [f"{where}: unknown field {extra[0]!r}."]
    name = entry.get("observation")
    if not isinstance(name, str) or name not in OBSERVATIONS:
        return [f"{where}.observation: {str(name)[:80]!r} is not an observation the rules read."]
    where = f"{where} ({name})"
    problems: list[str] = []
    kind = kind_of(name)
    tool, query, path, unit = (entry.get(k) for k in ("tool", "query", "path", "unit"))
    if not isinstance(tool, str) or not TOOL_NAME.fullmatch(tool):
        problems.append(f"{where}.tool: not a tool name.")
    elif query is None and tool not in listed.get(kind, ()):
        problems.append(
            f"{where}.tool: {tool!r} is not one of this connector's investigation tools for {kind}."
        )
    elif query is not None and tool not in readable:
        problems.append(f"{where}.tool: {tool!r} is not a read-only tool this project knows.")
    if query is not None:
        problems.extend(_query_errors(where, kind, query, entry.get("args")))
    elif "args" in entry:
        problems.append(f"{where}.args: only a query entry has its own arguments.")
    if not isinstance(path, str) or len(path) > MAX_PATH_CHARS or not PATH.fullmatch(path):
        problems.append(f"{where}.path: not a path (field names and list indexes, dotted).")
    if not isinstance(unit, str) or unit not in UNITS:
        problems.append(f"{where}.unit: {str(unit)[:40]!r} is not a unit ({', '.join(UNITS)}).")
    elif not convertible(unit, OBSERVATIONS[name].unit):
        problems.append(
            f"{where}.unit: {unit!r} cannot be read as {OBSERVATIONS[name].unit} "
            f"({name} is {OBSERVATIONS[name].about})."
        )
    return problems


def _query_errors(where: str, kind: str, query: Any, args: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
        problems.append(f"{where}.query: a PromQL query of at most {MAX_QUERY_CHARS} characters.")
    else:
        unknown = [p for p in _PLACEHOLDER.findall(query) if p not in QUERY_PLACEHOLDERS[kind]]
        if unknown:
            problems.append(
                f"{where}.query: ${unknown[0]} is not a label value of a {kind} "
                f"(${', $'.join(QUERY_PLACEHOLDERS[kind])})."
            )
        if query.count("(") != query.count(")") or query.count("{") != query.count("}"):
            problems.append(f"{where}.query: unbalanced brackets.")
    if (
        not isinstance(args, dict)
        or "{query}" not in args.values()
        or not all(
            isinstance(k, str) and ARG_NAME.fullmatch(k) and v in ARG_PLACEHOLDERS
            for k, v in args.items()
        )
    ):
        problems.append(
            f'{where}.args: map argument names to placeholders, one of them "{{query}}".'
        )
    return problems


def convertible(source: str, target: str) -> bool:
    if source not in UNITS or target not in UNITS:
        return False
    if source == "if_status":
        return target == "text"
    dim, target_dim = UNITS[source][0], UNITS[target][0]
    # A number answers a yes/no (1 / 0), and a count is a number.
    return dim == target_dim or (target_dim == "bool" and dim == "number")


# --- Reading answers ---------------------------------------------------------------------

_MISSING = object()


def at_path(answer: Any, path: str) -> Any:
    """The value at ``path`` in ``answer`` (dots; a number indexes a list), or _MISSING."""
    value = answer
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def convert(value: Any, source: str, target: str) -> Any:
    """``value`` in ``source`` units as the observation's ``target`` unit; None when it is
    not such a value (an answer is untrusted: a wrong type is no reading)."""
    dim = UNITS[target][0]
    if source == "if_status":
        code = _number(value)
        if code is not None:
            return IF_STATUS.get(int(code), "unknown")
        return value[:40] if isinstance(value, str) else None
    if dim == "text":
        return value[:200] if isinstance(value, str) else None
    if dim == "json":
        return value if isinstance(value, list | dict) else None
    if dim == "bool":
        if isinstance(value, bool):
            return value
        number = _number(value)
        return None if number is None else number != 0
    number = _number(value)
    if number is None:
        return None
    return number * UNITS[source][1] / UNITS[target][1]


@dataclass(frozen=True)
class Mapped:
    values: dict[str, Any]
    missing: tuple[str, ...]  # entries whose path was absent or whose value had a wrong type


def observations_of(
    entries: Sequence[Mapping[str, Any]], answers: Mapping[str, Any], kind: str
) -> Mapped:
    """The observations a kind's profile entries read from an object's answers (keyed by
    tool, or ``answer_key`` for a query entry). The first entry that gives a value wins."""
    values: dict[str, Any] = {}
    missing: list[str] = []
    for entry in entries:
        name = str(entry.get("observation"))
        if kind_of(name) != kind:
            continue
        key = answer_key(entry)
        if key not in answers:
            continue
        raw = at_path(as_data(answers[key]), str(entry.get("path")))
        value = (
            None if raw is _MISSING else convert(raw, str(entry["unit"]), OBSERVATIONS[name].unit)
        )
        if value is None:
            if name not in values:
                missing.append(name)
        else:
            values.setdefault(name, value)
    return Mapped(values, tuple(m for m in dict.fromkeys(missing) if m not in values))


def as_data(answer: Any) -> Any:
    """An answer given as JSON text (a server without structured output) as data."""
    if isinstance(answer, str) and answer.lstrip().startswith(("{", "[")):
        try:
            return json.loads(answer)
        except ValueError:
            return answer
    return answer


def answer_key(entry: Mapping[str, Any]) -> str:
    """Where an entry's answer is kept on the object: the tool's name, or for a query entry
    the tool and the observation (several queries to one tool)."""
    tool = str(entry.get("tool"))
    return f"{tool} {entry.get('observation')}" if entry.get("query") is not None else tool


def query_entries(entries: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [
        e for e in entries if e.get("query") is not None and kind_of(str(e["observation"])) == kind
    ]


def empty_answer(answer: Any) -> bool:
    """A Prometheus answer with no series: the object is unknown to it."""
    answer = as_data(answer)
    return isinstance(answer, Mapping) and answer.get("result") == []


# --- PromQL ------------------------------------------------------------------------------


def promql_string(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal: backslash, quote and control
    characters escaped, so it can only ever be a label value."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def regex_literal(value: str) -> str:
    """``value`` as an RE2 pattern that matches exactly it: every character but letters,
    digits and the underscore escaped (punctuation with a backslash, anything else by its
    code point), so a name can never add to a pattern."""
    out = []
    for ch in value:
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        elif ch.isascii() and ch.isprintable() and not ch.isspace():
            out.append("\\" + ch)
        else:
            out.append(f"\\x{{{ord(ch):x}}}")
    return "".join(out)


def label_values(kind: str, name: str) -> dict[str, str]:
    """The label values an object's series carry, from its name (``names`` reads it): a
    host's node_exporter ``instance`` is ``host:9100``, a pod is ``namespace/pod``, an
    interface is ``device ifName``, a claim ``[namespace/]claim``."""
    values = {"name": name}
    if kind in ("vm", "host", "instance"):
        host = names.short_host(name) or name
        values.update(host=host, node_instance=f"{host}:{NODE_EXPORTER_PORT}")
        # The host by its short name or any FQDN of it, as scrape targets and inventories
        # spell it either way (``=~`` matches the whole value; the name only ever literal).
        values["host_re"] = f"{regex_literal(host)}(\\..+)?"
        values["node_instance_re"] = f"{values['host_re']}:{NODE_EXPORTER_PORT}"
    elif kind in ("pod", "deployment", "volume"):
        namespace, _, short = name.rpartition("/")
        namespace = namespace if namespace and names.is_namespace(namespace) else "default"
        values["namespace"] = namespace
        if kind == "pod":
            values["pod"] = short
        elif kind == "deployment":
            values["deployment"] = short
            values["service_url"] = f"http://{short}.{namespace}.svc:{SERVICE_PORT}/healthz"
            # Its pods: the name, a dash, the ReplicaSet's pod-template hash and (as the
            # controller names them) the pod's own suffix.
            values["pods_re"] = f"{regex_literal(short)}-[a-z0-9]{{4,10}}(-[a-z0-9]{{5}})?"
        else:
            values["claim"] = short
    elif kind in ("device", "interface"):
        device, _, interface = name.partition(" ")
        values["device"] = names.host_of(device) or device
        if kind == "interface":
            parsed = names.interface(interface.strip())
            values["interface"] = parsed.name if parsed is not None else interface.strip()
    return values


def render_query(template: str, kind: str, name: str) -> str:
    """The query for one object: each ``$label`` replaced by its escaped string literal."""
    values = label_values(kind, name)

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ValueError(f"${key} is not a label value of a {kind}")
        return promql_string(values[key])

    return _PLACEHOLDER.sub(fill, template)


def owner_of(kind: str, name: str, candidates: Any = None) -> tuple[str, str] | None:
    """A pod's deployment: as its name says (``names.pod_owner``), else the longest of its
    namespace's deployments (``candidates``, a Prometheus answer's series with a
    ``deployment`` label) whose name and a dash begin the pod's: (kind, namespace/name)."""
    if kind != "pod":
        return None
    namespace, _, short = name.rpartition("/")
    namespace = namespace or "default"
    owner = names.pod_owner(short)
    if owner is not None and owner[0] == "deployment":
        return "deployment", f"{namespace}/{owner[1]}"
    found = [
        str(series["metric"]["deployment"])
        for series in (candidates if isinstance(candidates, list) else [])
        if isinstance(series, Mapping)
        and isinstance(series.get("metric"), Mapping)
        and isinstance(series["metric"].get("deployment"), str)
    ]
    matching = [d for d in found if d and short.startswith(d + "-")]
    if not matching:
        return None
    return "deployment", f"{namespace}/{max(matching, key=len)}"


# --- One call for many queries ------------------------------------------------------------

# The label that tells, in one combined answer, which query each series answers.
BATCH_LABEL = "profile_entry"


def batch_query(queries: Sequence[str]) -> str:
    """Several instant-vector queries as one: each answer's series tagged with its index
    (``label_replace``), joined with ``or`` (the tags keep every series apart). One call
    instead of one per observation; ``split_batch`` gives each query its own answer back."""
    return " or ".join(
        f'label_replace(({q}), "{BATCH_LABEL}", "{n}", "", "")' for n, q in enumerate(queries)
    )


def split_batch(answer: Any, count: int) -> list[Any] | None:
    """A combined answer (``batch_query``) as ``count`` answers in the shape each query
    alone would have had (its series, without the tag); None when it is not such an
    answer (a server's error text, a scalar, a tag out of range): ask one by one."""
    data = as_data(answer)
    if not isinstance(data, Mapping) or data.get("resultType") != "vector":
        return None
    result = data.get("result")
    if not isinstance(result, list):
        return None
    parts: list[list[Any]] = [[] for _ in range(count)]
    for series in result:
        metric = series.get("metric") if isinstance(series, Mapping) else None
        tag = metric.get(BATCH_LABEL) if isinstance(metric, Mapping) else None
        if not isinstance(tag, str) or not tag.isdigit() or int(tag) >= count:
            return None
        own = {k: v for k, v in metric.items() if k != BATCH_LABEL}  # type: ignore[union-attr]
        parts[int(tag)].append({**series, "metric": own})
    return [{"resultType": "vector", "result": part} for part in parts]
