"""Which MCP server acts for which platform: edited by admins, read by the connectors."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from remediation.catalogue.rules.operations import CATALOGUE, Platform

# The read tools a connector needs besides the 14 write tools; a real server may name them
# differently, which is what ``tool_map`` is for.
READ_ROLES = ("safe_to_act", "backup_available", "before_facts", "post_check", "target_state")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")
MIN_TIMEOUT = 0.5
MAX_TIMEOUT = 300.0


class ConnectorTransport(models.TextChoices):
    STDIO = "stdio", "stdio (the app starts the server)"
    HTTP = "http", "Streamable HTTP (the server runs on its own)"


class PlatformConnector(models.Model):
    platform = models.CharField(
        max_length=16, unique=True, choices=[(p.value, p.value) for p in Platform]
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
        known = set(CATALOGUE) | set(READ_ROLES)
        if not isinstance(self.tool_map, dict):
            errors.setdefault("tool_map", []).append("Must be an object.")
        else:
            for role, tool in self.tool_map.items():
                if role not in known:
                    errors.setdefault("tool_map", []).append(
                        f"{role!r} is neither a catalogue operation nor a read role "
                        f"({', '.join(READ_ROLES)})."
                    )
                elif not isinstance(tool, str) or not TOOL_NAME.fullmatch(tool):
                    errors.setdefault("tool_map", []).append(f"{role}: not a tool name.")
        if any("\x00" in str(v) for v in (self.command, self.url, self.name)):
            errors.setdefault("command", []).append("NUL bytes are not allowed.")
        if errors:
            raise ValidationError(errors)

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "name": self.name, "simulated": self.simulated}
