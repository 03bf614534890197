"""Score the analyzers on a labelled corpus of incident tickets.

    .venv/bin/python bench/analysis/run.py                  # local analyzer, bundled corpus
    .venv/bin/python bench/analysis/run.py --corpus bench/analysis/corpus*.jsonl -v

Each corpus line is a JSON object: ``id``, ``category``, ``affected_system``, ``title``,
``description``, ``expected`` (``{"operation", "target"}`` or null when no catalogue action
is right) and ``why``. The analyzers run against a fresh SQLite database migrated with the
shipped runbooks, exactly as a new installation has them. The anthropic analyzer runs only
when ANTHROPIC_API_KEY is set.

Printed per analyzer:

* right-action recall: cases with an expected action where the first proposed action is that
  operation on that target;
* wrong-write rate: cases with no right action where any write action was proposed;
* wrong-target rate: proposed actions whose target is neither the expected target nor, on
  cases without one, the affected system;
* abstention rate: cases with no action proposed;
* calibration: of proposals at confidence >= 0.8, the share that are right.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus.jsonl")
HIGH_CONFIDENCE = 0.8


@dataclass
class Score:
    analyzer: str
    cases: int = 0
    with_action: int = 0
    right: int = 0
    without_action: int = 0
    wrong_writes: int = 0
    proposals: int = 0
    wrong_targets: int = 0
    abstained: int = 0
    confident: int = 0
    confident_right: int = 0
    errors: int = 0
    misses: list[str] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> str:
        return f"{part / whole:6.1%} ({part}/{whole})" if whole else "   n/a"

    def report(self) -> str:
        return "\n".join(
            [
                f"analyzer: {self.analyzer}  ({self.cases} cases, {self.with_action} with a "
                f"right action, {self.without_action} without; {self.errors} errors)",
                f"  right-action recall        {self.rate(self.right, self.with_action)}",
                f"  wrong-write rate           {self.rate(self.wrong_writes, self.without_action)}",
                f"  wrong-target rate          {self.rate(self.wrong_targets, self.proposals)}",
                f"  abstention rate            {self.rate(self.abstained, self.cases)}",
                f"  right at confidence >= 0.8 {self.rate(self.confident_right, self.confident)}",
            ]
        )


def load_corpus(path: Path) -> list[dict[str, Any]]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: {exc}") from None
    return cases


def setup_django(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def score(analyzer: Any, cases: list[dict[str, Any]], verbose: bool) -> Score:
    from remediation.analysis.base import AnalysisError, TicketText

    result = Score(analyzer.name)
    for case in cases:
        result.cases += 1
        expected = case.get("expected")
        ticket = TicketText(
            title=case["title"],
            description=case["description"],
            category=case.get("category", ""),
            affected_system=case.get("affected_system", ""),
            ticket_id=case["id"],
        )
        try:
            analysis = analyzer.analyze(ticket)
        except AnalysisError as exc:
            result.errors += 1
            result.abstained += 1
            result.misses.append(f"{case['id']}: error {exc.reason}")
            if expected:
                result.with_action += 1
            else:
                result.without_action += 1
            continue
        actions = [a for a in analysis.actions if a.action_type != "read_only"]
        first = actions[0] if actions else None
        right = bool(
            expected
            and first
            and first.operation == expected["operation"]
            and first.system == expected["target"]
        )
        valid_targets = {expected["target"]} if expected else {case.get("affected_system", "")}
        result.proposals += len(actions)
        result.wrong_targets += sum(1 for a in actions if a.system not in valid_targets)
        if not actions:
            result.abstained += 1
        if expected:
            result.with_action += 1
            result.right += right
        else:
            result.without_action += 1
            result.wrong_writes += bool(actions)
        if first is not None and analysis.confidence >= HIGH_CONFIDENCE:
            result.confident += 1
            result.confident_right += right
        wrong = (expected and not right) or (not expected and actions)
        if wrong or verbose:
            got = f"{first.operation} on {first.system}" if first else "nothing"
            want = f"{expected['operation']} on {expected['target']}" if expected else "nothing"
            cause = analysis.diagnosis.cause if analysis.diagnosis else "-"
            mark = "MISS" if wrong else "ok  "
            result.misses.append(
                f"{mark} {case['id']}: want {want}, got {got} "
                f"(confidence {analysis.confidence:.2f}, cause {cause})"
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, nargs="+", default=[CORPUS], help="one or more JSONL files"
    )
    parser.add_argument("--analyzer", choices=["local", "anthropic", "all"], default="all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every case")
    args = parser.parse_args(argv)
    cases = [case for path in args.corpus for case in load_corpus(path)]

    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp) / "bench.sqlite3")
        from django.conf import settings

        from remediation.analysis.claude import ClaudeAnalyzer
        from remediation.analysis.local import LocalAnalyzer

        analyzers: list[Any] = []
        if args.analyzer in ("local", "all"):
            analyzers.append(LocalAnalyzer())
        if args.analyzer in ("anthropic", "all"):
            if settings.ANTHROPIC_API_KEY:
                analyzers.append(ClaudeAnalyzer())
            else:
                print("anthropic: skipped (ANTHROPIC_API_KEY is not set)")
        names = ", ".join(str(p) for p in args.corpus)
        print(f"corpus: {names} ({len(cases)} cases)")
        for analyzer in analyzers:
            result = score(analyzer, cases, args.verbose)
            print(result.report())
            for line in result.misses:
                print(f"    {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
