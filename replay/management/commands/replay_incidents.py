"""manage.py replay_incidents SCENARIO: recurring incidents against the lab, measured.

By default each run gets a fresh SQLite database and lab state under ``var/replay/`` (run
in a child process, so the configured database is never touched), once with the shipped
defaults and once with the scenario's overrides, and writes a text report, a JSON file and
a PNG chart there. ``--database-url`` runs one mode against another (for example an empty
PostgreSQL) database; ``--here`` runs on the configured database, which must hold no
tickets but the replay's (``--force`` skips that check). See docs/replay.md.

The replay is a program apart (the ``replay`` package); this command is its entry point.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

MODES = ("defaults", "overrides")
POLL_SECONDS = 0.5  # how often the parent looks whether the runs have finished
PROGRESS_SECONDS = 10.0  # how often at most it says how far they have got
# Installed with the dev extras only (`make run` installs what running needs).
DEV_MODULES = ("time_machine", "matplotlib")


class Command(BaseCommand):
    help = "Replay recurring incidents against the lab and report how autonomy is earned."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "scenario",
            help="a name under replay/scenarios/ or the path of a scenario JSON file",
        )
        parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "replay"))
        parser.add_argument("--database-url", help="run on this (empty) database instead")
        parser.add_argument("--here", action="store_true", help="run on the configured database")
        parser.add_argument("--force", action="store_true")
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument(
            "--report-only", action="store_true", help="rewrite the report from --out's runs"
        )
        parser.add_argument(
            "--operator-error-rate",
            type=float,
            help="share of operator verdicts flipped on purpose, 0-1 (default: the scenario's)",
        )
        parser.add_argument(
            "--seed", type=int, help="another random stream (default: the scenario's)"
        )

    def handle(self, *args: Any, **o: Any) -> None:
        missing = [m for m in DEV_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise CommandError(
                f"the replay needs the dev extras ({', '.join(missing)} missing): run "
                "`make setup-dev` (or `pip install -c requirements/constraints.txt -e .[dev]`)"
            )
        from replay import report
        from replay.run import load_scenario

        try:
            scenario = load_scenario(o["scenario"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"scenario {o['scenario']!r}: {exc}") from None
        rate = o["operator_error_rate"]
        if rate is not None:
            if not 0.0 <= rate <= 1.0:
                raise CommandError(f"--operator-error-rate must be within 0-1, not {rate}")
            scenario["operator_error_rate"] = rate
        if o["seed"] is not None:
            scenario["seed"] = o["seed"]
        out = Path(o["out"])
        out.mkdir(parents=True, exist_ok=True)
        modes = MODES if o["mode"] == "both" else (o["mode"],)
        if o["report_only"]:
            results = [
                json.loads((out / f"{m}-child" / f"{scenario['name']}-{m}.json").read_text())
                for m in modes
            ]
        elif o["here"]:
            if len(modes) != 1:
                raise CommandError("--here runs one --mode")
            result = self._here(scenario, modes[0], o)
            results = [result]
        else:
            if o["database_url"] and len(modes) != 1:
                raise CommandError("--database-url runs one --mode (each needs an empty database)")
            # The runs have their own databases and lab files: run them side by side.
            started = [self._start_child(scenario, mode, out, o) for mode in modes]
            self._progress(scenario, started, out)
            results = [self._finish_child(scenario, *child, out) for child in started]
        name = scenario["name"]
        texts = []
        for result in results:
            summary = report.summarize(result)
            mode = "overrides" if result["overrides"] else "defaults"
            (out / f"{name}-{mode}.json").write_text(
                json.dumps({"summary": summary, **result}, indent=1)
            )
            texts.append(report.text(summary))
            # The run's reliability diagram, beside the report.
            report.diagram(result, str(out / f"{name}-{mode}-reliability.png"))
        (out / f"{name}-report.txt").write_text("\n\n".join(texts) + "\n")
        report.chart(results, str(out / f"{name}.png"))
        self.stdout.write("\n\n".join(texts))
        self.stdout.write(f"\nreport: {out / f'{name}-report.txt'}; chart: {out / f'{name}.png'}")

    def _here(self, scenario: dict[str, Any], mode: str, o: dict[str, Any]) -> dict[str, Any]:
        from remediation.tickets.models import Ticket
        from replay.kinds import ScenarioError
        from replay.run import TICKET_PREFIX, Replay

        if not o["force"] and Ticket.objects.exclude(ticket_id__startswith=TICKET_PREFIX).exists():
            raise CommandError(
                "this database holds tickets that are not the replay's; use a fresh one "
                "(the default) or --force"
            )
        if Ticket.objects.filter(ticket_id__startswith=TICKET_PREFIX).exists():
            raise CommandError("this database already holds a replay; use a fresh one")
        out = Path(o["out"])
        out.mkdir(parents=True, exist_ok=True)
        replay = Replay(
            scenario,
            use_overrides=mode == "overrides",
            out=None if o["quiet"] else self.stdout,
            lab_log=str(out / "lab-http.log"),
        )
        try:
            return replay.run()
        except ScenarioError as exc:  # a target or condition this lab does not have
            raise CommandError(f"scenario {o['scenario']!r}: {exc}") from None

    def _start_child(
        self, scenario: dict[str, Any], mode: str, out: Path, o: dict[str, Any]
    ) -> tuple[str, subprocess.Popen]:
        name = scenario["name"]
        env = dict(os.environ)
        if o["database_url"]:
            env["DATABASE_URL"] = o["database_url"]
        else:
            db = out / f"{name}-{mode}.sqlite3"
            db.unlink(missing_ok=True)
            env["DATABASE_URL"] = f"sqlite:///{db.resolve()}"
        lab = out / f"{name}-{mode}-lab.sqlite3"
        lab.unlink(missing_ok=True)
        env["LAB_STATE_PATH"] = str(lab.resolve())
        env["MCP_STDERR_LOG"] = str((out / "mcp-servers.log").resolve())
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.stdout.write(f"-- {name}, {mode}: migrating a fresh database")
        # This Python and manage.py, arguments as a list (no shell): nothing to inject into.
        migrated = subprocess.run(
            [*manage, "migrate", "--verbosity", "0"], env=env, capture_output=True, text=True
        )
        if migrated.returncode != 0:
            lines = [line for line in migrated.stderr.splitlines() if line.strip()]
            raise CommandError(
                f"could not migrate the {mode} run's database: "
                f"{lines[-1] if lines else 'migrate failed'} "
                "(--database-url needs an existing, empty database: createdb NAME)"
            )
        given = Path(o["scenario"])
        scenario_arg = str(given.resolve()) if given.is_file() else o["scenario"]
        cmd = [*manage, "replay_incidents", scenario_arg, "--here", "--mode", mode]
        cmd += ["--out", str(out / f"{mode}-child")]
        if o["quiet"]:
            cmd.append("--quiet")
        for flag in ("operator_error_rate", "seed"):
            if o[flag] is not None:
                cmd += [f"--{flag.replace('_', '-')}", str(o[flag])]
        log = (out / f"{name}-{mode}.log").open("wb")
        self.stdout.write(f"-- {name}, {mode}: running (log: {log.name})")
        return mode, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _progress(
        self, scenario: dict[str, Any], started: list[tuple[str, subprocess.Popen]], out: Path
    ) -> None:
        """While the runs go on, say how far each has got (from the incident lines of its
        log), at most every ``PROGRESS_SECONDS``, so a long run is never silent."""
        name = scenario["name"]
        total = sum(int(k.get("count", 0)) for k in scenario.get("kinds", []))
        shown: dict[str, int] = {}
        last = time.monotonic()
        while any(proc.poll() is None for _, proc in started):
            time.sleep(POLL_SECONDS)
            if time.monotonic() - last < PROGRESS_SECONDS:
                continue
            last = time.monotonic()
            for mode, _ in started:
                done = _incidents_logged(out / f"{name}-{mode}.log")
                if done and done != shown.get(mode):
                    shown[mode] = done
                    self.stdout.write(f"-- {name}, {mode}: {done}/{total} incidents")

    def _finish_child(
        self, scenario: dict[str, Any], mode: str, proc: subprocess.Popen, out: Path
    ) -> dict[str, Any]:
        if proc.wait() != 0:
            log = out / f"{scenario['name']}-{mode}.log"
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            last = f": {lines[-1]}" if lines else ""
            raise CommandError(f"the {mode} run failed{last}; see {log}")
        name = scenario["name"]
        child = json.loads((out / f"{mode}-child" / f"{name}-{mode}.json").read_text())
        child.pop("summary", None)
        return child


def _incidents_logged(log: Path) -> int:
    """How many incidents a child run has written to its log (one "#" line each)."""
    try:
        with log.open("rb") as f:
            return sum(1 for line in f if line.startswith(b"#"))
    except OSError:
        return 0
