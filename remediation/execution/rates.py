"""The one definition of the execution rates, used by the stats API
(``GET /api/v1/stats/auto-remediation``), the analytics (API and page), and, over
``remediation_execution_ends_total{state}``, the Grafana dashboard and docs/observability.md.

An execution *concluded* when it succeeded, was rolled back or failed (an unknown outcome
is not concluded until a person reconciles it; a refused one never ran).

* success rate = succeeded / concluded
* rollback rate = rolled back / concluded
"""

from __future__ import annotations

from collections.abc import Mapping

from remediation.execution.models import ExecutionState

CONCLUDED = (ExecutionState.SUCCEEDED, ExecutionState.ROLLED_BACK, ExecutionState.FAILED)
RATE_DECIMALS = 4


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, RATE_DECIMALS) if whole else None


def concluded(counts: Mapping[str, int]) -> int:
    return sum(int(counts.get(str(state), 0)) for state in CONCLUDED)


def success_rate(counts: Mapping[str, int]) -> float | None:
    """``counts``: executions by state (``ExecutionState`` values); None with none concluded."""
    return _ratio(int(counts.get(ExecutionState.SUCCEEDED, 0)), concluded(counts))


def rollback_rate(counts: Mapping[str, int]) -> float | None:
    return _ratio(int(counts.get(ExecutionState.ROLLED_BACK, 0)), concluded(counts))
