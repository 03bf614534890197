"""manage.py lab: look at the bundled lab and stage conditions and faults (for demos).

Speaks to the lab's control server over MCP (stdio, ``python -m lab control``); never
touches its file. The connectors reach only the platform server, which has none of these
tools: nothing the application runs can stage, reset or read a condition.

    manage.py lab show                      # every target, its condition, staged faults
    manage.py lab show prod-web-01          # one target's full state
    manage.py lab condition prod-web-01 vm_hung
    manage.py lab condition core-sw-01 interface_errors --interface Gi0/1
    manage.py lab condition "core-sw-01 Gi0/1" interface_errors   # the same
    manage.py lab condition prod-web-01 none
    manage.py lab conditions                # what each kind of object can be given
    manage.py lab fault fail prod-web-01 --operation restart_vm
    manage.py lab fault hang default/web --seconds 120
    manage.py lab clear [TARGET]            # remove faults, lift maintenance
    manage.py lab log                       # the changes the lab made
    manage.py lab reset                     # back to the initial inventory
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.connectors.mcp import ConnectorError, McpSession, ServerSpec


def lab_spec() -> ServerSpec:
    return ServerSpec(
        label="lab",
        transport="stdio",
        command=sys.executable,
        args=("-m", "lab", "control"),
        env=(("LAB_STATE_PATH", str(settings.LAB_STATE_PATH)),),
        cwd=str(settings.BASE_DIR),
        timeout=30.0,
        startup_timeout=float(settings.MCP_STARTUP_SECONDS),
        errlog=str(settings.MCP_STDERR_LOG),
    )


class Command(BaseCommand):
    help = "Show the simulated lab and stage conditions or faults in it (over MCP)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        show = sub.add_parser("show", help="every target, or one target's state")
        show.add_argument("target", nargs="?")
        cond = sub.add_parser("condition", help="give a target a symptom (or 'none')")
        cond.add_argument(
            "target", help="a target; for a switch's interface 'core-sw-01 Gi0/1' or --interface"
        )
        cond.add_argument("condition", help="see 'manage.py lab conditions'; 'none' clears")
        cond.add_argument(
            "--interface",
            help="the switch interface a network condition is set on, e.g. Gi0/1",
        )
        fault = sub.add_parser("fault", help="stage a failure")
        fault.add_argument(
            "kind",
            choices=[
                "fail",
                "postcheck_fail",
                "unreachable",
                "slow",
                "hang",
                "slow_read",
                "maintenance",
            ],
        )
        fault.add_argument("target", help="a target; for an interface 'core-sw-01 Gi0/1'")
        fault.add_argument("--operation")
        fault.add_argument("--count", type=int, default=1)
        fault.add_argument("--seconds", type=float)
        clear = sub.add_parser("clear", help="remove staged faults")
        clear.add_argument("target", nargs="?")
        log = sub.add_parser("log", help="the changes the lab made")
        log.add_argument("--limit", type=int, default=50)
        sub.add_parser("reset", help="back to the initial inventory")
        sub.add_parser("conditions", help="the conditions each kind can be given")

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        try:
            with McpSession(lab_spec()) as lab:
                answer = self._ask(lab, what, options)
        except ConnectorError as exc:
            raise CommandError(str(exc)) from None
        if what == "show" and not options.get("target"):
            self._inventory(answer)
        else:
            self.stdout.write(json.dumps(answer, indent=2, sort_keys=True))

    def _ask(self, lab: McpSession, what: str, o: dict[str, Any]) -> Any:
        if what == "show":
            if o.get("target"):
                return lab.call("target_state", {"target": o["target"]})
            return lab.call("lab_inventory", {})
        if what == "condition":
            condition = None if o["condition"] in ("none", "healthy") else o["condition"]
            target, interface = o["target"].strip(), o.get("interface")
            if interface is None and " " in target:
                # "core-sw-01 Gi0/1", as faults and the docs write an interface target.
                target, interface = target.split(None, 1)
            try:
                return lab.call(
                    "set_condition",
                    {"target": target, "condition": condition, "interface": interface},
                )
            except ConnectorError as exc:
                if interface is None and "interface" in str(exc):
                    raise CommandError(self._name_an_interface(lab, target, o)) from None
                raise
        if what == "fault":
            return lab.call(
                "inject_fault",
                {
                    "kind": o["kind"],
                    "target": o["target"],
                    "operation": o.get("operation"),
                    "count": o["count"],
                    "seconds": o.get("seconds"),
                },
            )
        if what == "clear":
            return lab.call("clear_faults", {"target": o.get("target")})
        if what == "log":
            return lab.call("write_log", {"limit": o["limit"]})
        if what == "conditions":
            return lab.call("conditions", {})
        return lab.call("reset_lab", {})

    def _name_an_interface(self, lab: McpSession, target: str, o: dict[str, Any]) -> str:
        """The lab wants an interface: say which ones the switch has, with the command."""
        try:
            state = lab.call("target_state", {"target": target})
            inner = state.get("state") if isinstance(state, dict) else None
            names = sorted((inner or {}).get("interfaces") or {})
        except ConnectorError:
            names = []
        example = names[0] if names else "Gi0/1"
        listed = f" ({target} has {', '.join(names)})" if names else ""
        return (
            f"{o['condition']} is set on one interface of a switch{listed}: "
            f"manage.py lab condition {target} {o['condition']} --interface {example}"
        )

    def _inventory(self, answer: dict[str, Any]) -> None:
        self.stdout.write("SIMULATED LAB (nothing here is real infrastructure)")
        for t in answer["targets"]:
            symptoms = [f"{i}: {c}" for i, c in (t.get("interfaces") or {}).items() if c]
            condition = t["condition"] or ", ".join(symptoms) or "healthy"
            self.stdout.write(
                f"  {t['platform']:<11} {t['kind']:<10} {t['target']:<20} {condition}"
            )
        for f in answer["faults"]:
            self.stdout.write(
                f"  fault #{f['id']}: {f['kind']} on {f['target']}"
                + (f" ({f['operation']})" if f["operation"] else "")
            )
