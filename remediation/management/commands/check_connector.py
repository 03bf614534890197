"""manage.py check_connector NAME [--object KIND=NAME ...]: call each listed read tool (and
each profile query) of one connector on a known object and say what its profile mapped to
observations, what it did not, and what the answers hold that nothing reads. What an admin
runs when plugging in a new MCP server. Exits non-zero when nothing mapped."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from remediation.connectors.mcp_connector import McpConnector, close_pooled_sessions
from remediation.connectors.models import PlatformConnector
from remediation.investigation.rules.subjects import KIND_PLATFORM
from remediation.investigation.services import check_connector

MAX_VALUE_CHARS = 80


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class Command(BaseCommand):
    help = "Check what a connector's read tools answer, as the observations the rules read."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the connector's platform (e.g. vmware, prometheus)")
        parser.add_argument(
            "--object",
            action="append",
            default=[],
            metavar="KIND=NAME",
            help="the object to ask about for a kind (default: the profile's example)",
        )
        parser.add_argument("--json", action="store_true", help="the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["name"])
        row = PlatformConnector.objects.filter(Q(platform=name) | Q(name=name)).first()
        if row is None:
            raise CommandError(f"no connector {name!r} (give its platform or its name)")
        objects: dict[str, str] = {}
        for item in options["object"]:
            kind, sep, value = str(item).partition("=")
            if not sep or kind not in KIND_PLATFORM or not value.strip():
                raise CommandError(
                    f"--object {item!r}: KIND=NAME, KIND one of {', '.join(KIND_PLATFORM)}"
                )
            objects[kind] = value.strip()
        connector = McpConnector(row)
        try:
            report = check_connector(connector, objects)
        finally:
            close_pooled_sessions()
        mapped = sum(len(part.get("mapped") or {}) for part in report)
        if options["json"]:
            self.stdout.write(json.dumps({"connector": row.name, "kinds": report}, default=str))
        else:
            self._print(row, report)
        if not report:
            raise CommandError(f"{row.name}: lists no investigation tool and no profile query")
        if mapped == 0:
            raise CommandError(f"{row.name}: nothing mapped to an observation")

    def _print(self, row: PlatformConnector, report: list[dict[str, Any]]) -> None:
        out = self.stdout.write
        out(f"{row.name} ({row.platform}){'' if row.enabled else ' [disabled]'}")
        for part in report:
            if part.get("skipped"):
                out(f"\n{part['kind']}: skipped ({part['skipped']})")
                continue
            out(f"\n{part['kind']} {part['object']} ({part['calls']} calls)")
            for key, value in part["mapped"].items():
                out(f"  mapped      {key} = {_value(value)}")
            for key in part["not_mapped"]:
                out(f"  not mapped  {key}")
            for key in part["unexpected"]:
                out(f"  unexpected  {key}")
            for key, error in part["errors"].items():
                out(f"  failed      {key}: {_value(error)}")
