"""Which MCP server acts for which platform: edited by admins, read by the connectors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from config.secrets import reserved_env_problem
from remediation.catalogue.rules.operations import CATALOGUE, Platform
from remediation.connectors.rules.profiles import profile_errors
from remediation.connectors.rules.prometheus_profile import PROMETHEUS_TOOLS

# The read tools a connector needs besides the 14 write tools; a real server may name them
# differently, which is what ``tool_map`` is for.
READ_ROLES = ("safe_to_act", "backup_available", "before_facts", "post_check")

# The project's registry of read-only tools: the only tools a read role may be mapped to and
# an investigation may list. The bundled lab's, plus the names a deployment declares for its
# own servers (``EXTRA_READ_ONLY_TOOLS``, a setting: changing it takes a deploy, not an edit
# in the admin). Data cannot add to it: otherwise ``{"safe_to_act": "reset_lab"}`` in a
# connector row makes the decision's health check a write that no policy ever saw.
LAB_READ_ONLY_TOOLS = frozenset(
    {
        *READ_ROLES,
        "get_vm",
        "get_vm_metrics",
        "get_vm_events",
        "get_host",
        "get_pod",
        "get_pod_logs",
        "get_deployment",
        "get_device",
        "get_interface",
        "get_volume",
        "get_instance",
    }
)
# The published prometheus-mcp-server's tools: every one reads (PromQL queries, metric
# names and metadata, targets, its own health); none writes.
PROMETHEUS_READ_ONLY_TOOLS = frozenset(PROMETHEUS_TOOLS)
# Connectors that only show evidence (never act): a platform name of their own, so the
# investigation can ask them about any kind their profile reads.
EVIDENCE_PLATFORMS = ("prometheus",)
# Tools that change things outside the catalogue (the lab's control surface): never mapped,
# never listed, whatever the settings say.
NEVER_MAPPED = frozenset({"reset_lab", "inject_fault", "set_condition", "clear_faults"})


def read_only_tools() -> frozenset[str]:
    """The registry: the lab's read-only tools and the deployment's declared ones."""
    extra = frozenset(getattr(settings, "EXTRA_READ_ONLY_TOOLS", ()) or ())
    known = LAB_READ_ONLY_TOOLS | PROMETHEUS_READ_ONLY_TOOLS | extra
    return known - NEVER_MAPPED - frozenset(CATALOGUE)


def tool_map_errors(tool_map: Any) -> list[str]:
    """What is wrong with a connector's ``tool_map`` (empty: nothing).

    A read role maps only to a tool the registry knows as read-only; an operation only to
    its own write tool: not a read-only tool, not another operation's name, not a tool
    another operation is mapped to, not a control tool."""
    if not isinstance(tool_map, dict):
        return ["Must be an object."]
    readable = read_only_tools()
    problems: list[str] = []
    writes: dict[str, str] = {}
    for role, tool in tool_map.items():
        if role not in CATALOGUE and role not in READ_ROLES:
            problems.append(
                f"{role!r} is neither a catalogue operation nor a read role "
                f"({', '.join(READ_ROLES)})."
            )
            continue
        if not isinstance(tool, str) or not TOOL_NAME.fullmatch(tool):
            problems.append(f"{role}: not a tool name.")
            continue
        if role in READ_ROLES:
            if tool not in readable:
                problems.append(
                    f"{role}: {tool!r} is not a read-only tool this project knows "
                    "(the lab's, or one declared in EXTRA_READ_ONLY_TOOLS)."
                )
            continue
        if tool in NEVER_MAPPED or tool in readable or (tool in CATALOGUE and tool != role):
            problems.append(f"{role}: {tool!r} is not {role}'s own write tool.")
        elif tool in writes:
            problems.append(f"{role}: {tool!r} is already the tool of {writes[tool]}.")
        else:
            writes[tool] = role
    return problems


# What an investigation may look at, and the placeholders a tool's arguments may use.
OBSERVABLE_KINDS = ("vm", "host", "pod", "deployment", "device", "interface", "volume", "instance")
ARG_PLACEHOLDERS = ("{name}", "{device}", "{interface}")
MAX_INVESTIGATION_TOOLS = 40

# The bundled lab's read-only investigation tools: which tool shows which kind of object,
# its arguments, and which fields of its answer name related objects worth a look (a VM's
# host, a pod's deployment, a deployment's pods). Written by the data migration; an admin
# edits the list for a real server. The application calls nothing else to investigate,
# whatever a server's tool annotations claim.
LAB_INVESTIGATION_TOOLS: dict[str, list[dict[str, Any]]] = {
    "vmware": [
        {"kind": "vm", "tool": "get_vm", "args": {"vm": "{name}"},
         "relatives": {"host": "host", "volume": "volumes"}},
        {"kind": "vm", "tool": "get_vm_metrics", "args": {"vm": "{name}"}},
        {"kind": "vm", "tool": "get_vm_events", "args": {"vm": "{name}"}},
        {"kind": "host", "tool": "get_host", "args": {"host": "{name}"}},
    ],
    "kubernetes": [
        {"kind": "pod", "tool": "get_pod", "args": {"pod": "{name}"},
         "relatives": {"deployment": "owner"}},
        {"kind": "pod", "tool": "get_pod_logs", "args": {"pod": "{name}"}},
        {"kind": "deployment", "tool": "get_deployment", "args": {"deployment": "{name}"},
         "relatives": {"pod": "pods"}},
    ],
    "network": [
        {"kind": "device", "tool": "get_device", "args": {"device": "{name}"},
         "relatives": {"interface": "interfaces"}},
        {"kind": "interface", "tool": "get_interface",
         "args": {"device": "{device}", "interface": "{interface}"}},
    ],
    "storage": [{"kind": "volume", "tool": "get_volume", "args": {"volume": "{name}"},
                 "relatives": {"vm": "attached_to"}}],
    "openstack": [{"kind": "instance", "tool": "get_instance", "args": {"instance": "{name}"}}],
}  # fmt: skip
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MIN_TIMEOUT = 0.5
MAX_TIMEOUT = 300.0


class ConnectorTransport(models.TextChoices):
    STDIO = "stdio", "stdio (the app starts the server)"
    HTTP = "http", "Streamable HTTP (the server runs on its own)"


class PlatformConnector(models.Model):
    platform = models.CharField(
        max_length=16,
        unique=True,
        choices=[(p.value, p.value) for p in Platform] + [(e, e) for e in EVIDENCE_PLATFORMS],
        help_text="The platform it acts for; 'prometheus': an evidence source that only reads.",
    )
    name = models.CharField(max_length=100, help_text="What people read, e.g. 'Lab (simulated)'.")
    transport = models.CharField(
        max_length=8, choices=ConnectorTransport.choices, default=ConnectorTransport.STDIO
    )
    command = models.CharField(
        max_length=300,
        blank=True,
        help_text="stdio: the program to start. Empty: the Python interpreter running this app.",
    )
    args = models.JSONField(default=list, blank=True, help_text='stdio: e.g. ["-m", "lab"].')
    env = models.JSONField(
        default=dict,
        blank=True,
        help_text="stdio: environment for the server (it inherits nothing else but PATH/HOME).",
    )
    url = models.URLField(blank=True, help_text="http: the server's endpoint, e.g. http://host/mcp")
    tool_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Catalogue operation (or read role) -> the server's tool name, if different.",
    )
    investigation_tools = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "The server's read-only tools an investigation may call, as a list of "
            '{"kind": "vm", "tool": "get_vm", "args": {"vm": "{name}"}, '
            '"relatives": {"host": "host"}}. Kinds: vm, host, pod, deployment, device, '
            "interface, volume, instance. Arguments may use {name}, {device}, {interface}. "
            "Nothing else is called to investigate; a write tool is refused here."
        ),
    )
    profile = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "What the read tools answer, as the observations the rules read: "
            '{"examples": {"vm": "prod-web-01"}, "observations": [{"observation": '
            '"vm.guest_heartbeat", "tool": "get_vm", "path": "guest_heartbeat", "unit": '
            '"text"}, {"observation": "pod.restarts_rate", "tool": "execute_query", "args": '
            '{"query": "{query}"}, "query": "sum(rate(kube_pod_container_status_restarts_total'
            '{namespace=$namespace, pod=$pod}[5m]))", "path": "result.0.value.1", "unit": '
            '"per_second"}]}. docs/investigation.md lists the observations and units.'
        ),
    )
    token_env = models.CharField(
        max_length=64,
        blank=True,
        help_text="http: the environment variable holding the bearer token to send "
        "(e.g. LAB_TOKEN). The token itself is never stored here.",
    )
    timeout_seconds = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(MIN_TIMEOUT), MaxValueValidator(MAX_TIMEOUT)],
        help_text="Per call. A write with no answer in time has an unknown outcome.",
    )
    simulated = models.BooleanField(
        default=False, help_text="The bundled lab: pages and the API say the target is simulated."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(timeout_seconds__gte=MIN_TIMEOUT)
                & models.Q(timeout_seconds__lte=MAX_TIMEOUT),
                name="connector_timeout_bounds",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.name}"

    def tool_for(self, role: str) -> str:
        mapped = (self.tool_map or {}).get(role)
        return mapped if isinstance(mapped, str) and mapped else role

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.transport == ConnectorTransport.HTTP and not self.url:
            errors.setdefault("url", []).append("An HTTP connector needs a URL.")
        if not isinstance(self.args, list) or not all(isinstance(a, str) for a in self.args):
            errors.setdefault("args", []).append("Must be a list of strings.")
        if not isinstance(self.env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()
        ):
            errors.setdefault("env", []).append("Must be an object of string values.")
        for problem in tool_map_errors(self.tool_map):
            errors.setdefault("tool_map", []).append(problem)
        for problem in investigation_tool_errors(self.investigation_tools, self.tool_map):
            errors.setdefault("investigation_tools", []).append(problem)
        for problem in profile_errors(
            self.profile, listed_tools(self.investigation_tools), read_only_tools()
        ):
            errors.setdefault("profile", []).append(problem)
        if self.token_env and not ENV_NAME.fullmatch(self.token_env):
            errors.setdefault("token_env", []).append("Not an environment variable name.")
        elif reserved := reserved_env_problem(self.token_env):
            errors.setdefault("token_env", []).append(reserved)
        if any("\x00" in str(v) for v in (self.command, self.url, self.name)):
            errors.setdefault("command", []).append("NUL bytes are not allowed.")
        if errors:
            raise ValidationError(errors)

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "name": self.name, "simulated": self.simulated}


def investigation_tool_errors(entries: Any, tool_map: Any) -> list[str]:
    """What is wrong with an ``investigation_tools`` list (empty: nothing).

    Only a tool the registry knows as read-only may be listed (``read_only_tools``); a write
    tool never: not a catalogue operation's name, nor the tool an operation is mapped to."""
    if not isinstance(entries, list):
        return ["Must be a list."]
    if len(entries) > MAX_INVESTIGATION_TOOLS:
        return [f"At most {MAX_INVESTIGATION_TOOLS} tools."]
    mapped = tool_map if isinstance(tool_map, dict) else {}
    writes = set(CATALOGUE) | {str(mapped[k]) for k in CATALOGUE if k in mapped}
    readable = read_only_tools()
    problems: list[str] = []
    for n, entry in enumerate(entries):
        where = f"entry {n + 1}"
        if not isinstance(entry, dict) or set(entry) - {"kind", "tool", "args", "relatives"}:
            problems.append(f"{where}: an object with kind, tool, args and optional relatives.")
            continue
        tool, kind = entry.get("tool"), entry.get("kind")
        if kind not in OBSERVABLE_KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(OBSERVABLE_KINDS)}.")
        if not isinstance(tool, str) or not TOOL_NAME.fullmatch(tool):
            problems.append(f"{where}: not a tool name.")
        elif tool in writes:
            problems.append(f"{where}: {tool!r} is a write tool; only read-only tools belong here.")
        elif tool not in readable:
            problems.append(
                f"{where}: {tool!r} is not a read-only tool this project knows "
                "(the lab's, or one declared in EXTRA_READ_ONLY_TOOLS)."
            )
        args = entry.get("args")
        if not isinstance(args, dict) or not all(
            isinstance(k, str) and ARG_NAME.fullmatch(k) and v in ARG_PLACEHOLDERS
            for k, v in args.items()
        ):
            problems.append(f"{where}: args map argument names to {', '.join(ARG_PLACEHOLDERS)}.")
        relatives = entry.get("relatives", {})
        if not isinstance(relatives, dict) or not all(
            k in OBSERVABLE_KINDS and isinstance(v, str) and ARG_NAME.fullmatch(v)
            for k, v in relatives.items()
        ):
            problems.append(f"{where}: relatives map a kind to the answer field naming it.")
    return problems


def listed_tools(entries: Any) -> dict[str, list[str]]:
    """The listed investigation tools, per kind."""
    listed: dict[str, list[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("tool"), str):
            listed.setdefault(str(entry.get("kind")), []).append(entry["tool"])
    return listed


def fill_args(
    template: Mapping[str, str],
    *,
    name: str,
    device: str = "",
    interface: str = "",
    query: str = "",
) -> dict[str, str]:
    """A listed tool's arguments for one object: each placeholder replaced by its value."""
    values = {
        "{name}": name,
        "{device}": device or name,
        "{interface}": interface,
        "{query}": query,
    }
    return {arg: values[placeholder] for arg, placeholder in template.items()}
