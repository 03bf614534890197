"""django-q2 entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from remediation.execution import services


def run_execution(ticket_pk: int) -> str:
    return services.execution_run(ticket_pk)


def sweep_executions() -> dict[str, int]:
    return services.execution_sweep()
