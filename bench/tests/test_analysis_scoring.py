"""The analysis benchmark's scoring: what counts as right, a wrong write, a wrong target.

A test of the benchmark itself, so it lives with it (the project's tests never import
``bench/``); ``make test`` runs it too (``testpaths`` in ``pyproject.toml``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from remediation.analysis.base import AnalysisResult
from remediation.catalogue.rules.operations import validate_suggestions

ROOT = Path(__file__).resolve().parents[2]  # bench/tests/ -> the checkout
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench/analysis/run.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_run"] = bench  # dataclasses resolve annotations through sys.modules
_spec.loader.exec_module(bench)


def action(operation: str, **params):
    [a], _ = validate_suggestions([{"operation": operation, "params": params}])
    return a


class Scripted:
    name = "scripted"

    def __init__(self, answers):
        self.answers = answers

    def analyze(self, ticket):
        actions, confidence = self.answers[ticket.ticket_id]
        return AnalysisResult("r", actions, [], confidence, self.name)


def case(case_id, expected=None, affected="web-01"):
    return {
        "id": case_id,
        "title": "t",
        "description": "d",
        "category": "server",
        "affected_system": affected,
        "expected": expected,
    }


def test_the_score_counts_right_actions_wrong_writes_targets_and_calibration():
    cases = [
        case("right", {"operation": "restart_vm", "target": "web-01"}),
        case("wrong-target", {"operation": "restart_vm", "target": "web-01"}),
        case("missed", {"operation": "restart_vm", "target": "web-01"}),
        case("abstained-ok"),
        case("wrong-write"),
    ]
    analyzer = Scripted(
        {
            "right": ([action("restart_vm", vm="web-01")], 0.9),
            "wrong-target": ([action("restart_vm", vm="db-01")], 0.85),
            "missed": ([], 0.0),
            "abstained-ok": ([], 0.0),
            "wrong-write": ([action("restart_vm", vm="web-01")], 0.6),
        }
    )
    score = bench.score(analyzer, cases, verbose=False)
    assert (score.with_action, score.right) == (3, 1)
    assert (score.without_action, score.wrong_writes) == (2, 1)
    assert (score.proposals, score.wrong_targets) == (3, 1)
    assert score.abstained == 2
    assert (score.confident, score.confident_right) == (2, 1)
    assert "right-action recall         33.3% (1/3)" in score.report()


def test_every_bundled_corpus_line_is_labelled_and_a_third_have_a_right_action():
    cases = []
    for path in sorted((ROOT / "bench/analysis").glob("corpus*.jsonl")):
        cases += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert len(cases) >= 80
    assert len({c["id"] for c in cases}) == len(cases)
    with_action = [c for c in cases if c["expected"]]
    assert 3 * len(with_action) >= len(cases)
    for c in with_action:
        assert set(c["expected"]) == {"operation", "target"}
    assert all(c["why"] and c["convention"] for c in cases)
