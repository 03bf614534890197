"""The execution rates over executions counted by state (``remediation.rules`` defines them):
used by the stats API (``GET /api/v1/stats/auto-remediation``), the analytics (API and
page), and, over ``datacenter_docs_execution_ends_total{state}``, the Grafana dashboard and
docs/observability.md.

An execution *concluded* when it succeeded, was rolled back or failed (an unknown outcome
is not concluded until a person reconciles it; a refused one never ran).

* execution success rate = succeeded / concluded
* rollback rate = rolled back / concluded
"""

from __future__ import annotations

from collections.abc import Mapping

from remediation import rules
from remediation.execution.models import ExecutionState

CONCLUDED = (ExecutionState.SUCCEEDED, ExecutionState.ROLLED_BACK, ExecutionState.FAILED)


def _concluded(counts: Mapping[str, int]) -> tuple[int, int, int]:
    return (
        int(counts.get(str(ExecutionState.SUCCEEDED), 0)),
        int(counts.get(str(ExecutionState.ROLLED_BACK), 0)),
        int(counts.get(str(ExecutionState.FAILED), 0)),
    )


def concluded(counts: Mapping[str, int]) -> int:
    return sum(_concluded(counts))


def execution_success_rate(counts: Mapping[str, int]) -> float | None:
    """``counts``: executions by state (``ExecutionState`` values); None with none concluded."""
    return rules.execution_success_rate(*_concluded(counts))


def rollback_rate(counts: Mapping[str, int]) -> float | None:
    return rules.rollback_rate(*_concluded(counts))
