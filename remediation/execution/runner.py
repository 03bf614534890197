"""Running a claimed execution: for each action pre-check -> execute -> post-check -> log,
and on failure roll back what ran, in reverse. No database transaction is open while a
connector is asked anything; each step's record and audit line are written in their own
short transaction right after.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction, plan_rollback
from remediation.connectors.base import ActionConnector
from remediation.connectors.mcp import ConnectorError, ConnectorTimeout, ToolRefused
from remediation.connectors.registry import get_connector
from remediation.execution.models import Execution, ExecutionStep, StepKind, StepState
from remediation.tickets.models import Ticket

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What happened, for the final transaction."""

    ran: list[tuple[ExecutionStep, SuggestedAction, dict[str, Any]]] = field(default_factory=list)
    failed_step: ExecutionStep | None = None
    failure: str = ""
    unknown: str = ""
    rollback_failed: str = ""
    rolled_back: int = 0

    @property
    def succeeded(self) -> bool:
        return not (self.failure or self.unknown)


class _Connectors:
    """One open session per connector for the whole execution (one stdio server process)."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.opened: dict[int, ActionConnector] = {}

    def for_action(self, action: SuggestedAction) -> ActionConnector:
        connector = get_connector(action.platform)
        if not isinstance(connector, ActionConnector):
            raise ConnectorError(f"no connector can act on platform {action.platform}")
        if id(connector) not in self.opened:
            self.stack.enter_context(connector.session())
            self.opened[id(connector)] = connector
        return connector


def _short(text: object, limit: int = 500) -> str:
    return str(text)[:limit]


def _record(
    step: ExecutionStep,
    fields: list[str],
    action: AuditAction,
    message: str,
    details: dict[str, Any],
) -> None:
    with transaction.atomic():
        step.save(update_fields=fields)
        audit(action, message, ticket=Ticket(pk=step.execution.ticket_id), details=details)


def _new_step(
    execution: Execution, index: int, kind: str, action: SuggestedAction, key: str
) -> ExecutionStep:
    with transaction.atomic():
        return ExecutionStep.objects.create(
            execution=execution,
            index=index,
            kind=kind,
            operation=action.operation,
            platform=action.platform,
            target=action.system,
            params=dict(action.params),
            idempotency_key=key,
            state=StepState.RUNNING,
            started_at=timezone.now(),
        )


def run_actions(execution: Execution, actions: list[SuggestedAction]) -> RunResult:
    """Carry the claimed execution out. Never raises for a connector's failure: every
    outcome ends in the returned RunResult."""
    result = RunResult()
    with ExitStack() as stack:
        connectors = _Connectors(stack)
        for index, action in enumerate(actions):
            if not _run_one(execution, index, action, connectors, result):
                break
        if result.failure and not result.unknown:
            _roll_back(execution, result, connectors)
    return result


def _run_one(
    execution: Execution,
    index: int,
    action: SuggestedAction,
    connectors: _Connectors,
    result: RunResult,
) -> bool:
    key = f"{execution.key}:{index}"
    step = _new_step(execution, index, StepKind.ACTION, action, key)
    label = f"step {index + 1} {action.operation} on {action.system}"
    details: dict[str, Any] = {
        "step": index,
        "operation": action.operation,
        "target": action.system,
        "key": key,
    }

    # 1. Pre-check: is it safe to act now? (not: is the symptom there)
    try:
        connector = connectors.for_action(action)
        safe, reasons = connector.precheck(action)
        before = connector.before_facts(action) if CATALOGUE[action.operation].reversible else {}
    except ConnectorError as exc:
        safe, reasons, before = False, [f"pre-check could not run: {_short(exc)}"], {}
    step.precheck = {"safe": safe, "reasons": reasons}
    step.before = before
    if not safe:
        step.state = StepState.REFUSED
        step.error = "; ".join(reasons)
        step.finished_at = timezone.now()
        _record(
            step,
            ["precheck", "before", "state", "error", "finished_at"],
            AuditAction.STEP_FAILED,
            f"{label}: pre-check refused ({step.error})",
            {**details, "precheck": step.precheck},
        )
        result.failure = f"{label}: pre-check refused ({step.error})"
        result.failed_step = step
        return False
    _record(
        step,
        ["precheck", "before"],
        AuditAction.STEP_PRECHECKED,
        f"{label}: pre-check passed (safe to act)",
        {**details, "before": before},
    )

    # 2. Execute, with the step's idempotency key.
    try:
        answer = connector.execute(action, key)
    except ToolRefused as exc:
        step.state = StepState.FAILED
        step.error = _short(exc)
        step.finished_at = timezone.now()
        _record(
            step,
            ["state", "error", "finished_at"],
            AuditAction.STEP_FAILED,
            f"{label}: failed ({step.error})",
            {**details, "error": step.error},
        )
        result.failure = f"{label}: failed ({step.error})"
        result.failed_step = step
        return False
    except ConnectorError as exc:
        # No answer (timeout) or a broken session mid-call: it may have run. Unknown.
        step.state = StepState.UNKNOWN
        step.error = _short(exc)
        step.finished_at = timezone.now()
        kind = "timed out" if isinstance(exc, ConnectorTimeout) else "lost its connection"
        _record(
            step,
            ["state", "error", "finished_at"],
            AuditAction.EXECUTION_UNKNOWN,
            f"{label}: {kind}; the outcome is unknown and nothing is retried",
            {**details, "error": step.error},
        )
        result.unknown = f"{label}: {kind} ({step.error})"
        result.failed_step = step
        return False
    step.result = answer
    _record(
        step,
        ["result"],
        AuditAction.STEP_EXECUTED,
        f"{label}: executed ({_short(answer.get('detail', 'done'), 200)})",
        {**details, "result": answer},
    )
    result.ran.append((step, action, before))

    # 3. Post-check: is the symptom gone?
    checks = CATALOGUE[action.operation].checks
    try:
        passed, checked = connector.post_check(action, checks)
    except ConnectorError as exc:
        passed, checked = False, [{"error": _short(exc)}]
    step.postcheck = {"passed": passed, "results": checked}
    step.finished_at = timezone.now()
    if not passed:
        step.state = StepState.FAILED
        step.error = "post-check failed"
        _record(
            step,
            ["postcheck", "state", "error", "finished_at"],
            AuditAction.STEP_FAILED,
            f"{label}: post-check failed ({', '.join(checks)})",
            {**details, "postcheck": step.postcheck},
        )
        result.failure = f"{label}: post-check failed"
        result.failed_step = step
        return False
    step.state = StepState.SUCCEEDED
    _record(
        step,
        ["postcheck", "state", "finished_at"],
        AuditAction.STEP_VERIFIED,
        f"{label}: post-checks passed ({', '.join(checks)})",
        {**details, "postcheck": step.postcheck},
    )
    return True


def _check_restored(
    connector: ActionConnector,
    action: SuggestedAction,
    inverse: SuggestedAction,
    before: dict[str, Any],
) -> tuple[bool, list[Any]]:
    """A rollback's own check: the facts its inverse puts back (the catalogue's ``before:``
    sources) read again as they did before the step. Not the operation's post-checks: they
    ask whether the symptom is gone, and undoing a step that cleared a symptom rightly
    brings it back (the load that saturated 2 replicas saturates them again). Only when no
    such fact was read are the inverse's post-checks asked instead."""
    restored = [
        key
        for kind, _, key in (
            source.partition(":") for source in CATALOGUE[action.operation].rollback_params.values()
        )
        if kind == "before" and key in before
    ]
    if not restored:
        return connector.post_check(inverse, CATALOGUE[inverse.operation].checks)
    now = connector.before_facts(action)
    results = [
        {
            "check": f"{key}_restored",
            "passed": now.get(key) == before[key],
            "seen": f"{key} {now.get(key)!r} (before the step: {before[key]!r})",
        }
        for key in restored
    ]
    return all(r["passed"] for r in results), results


def _roll_back(execution: Execution, result: RunResult, connectors: _Connectors) -> None:
    """Undo what ran, newest first, with the catalogue's inverses and the before-facts."""
    base = len(result.ran) + 100
    for offset, (step, action, before) in enumerate(reversed(result.ran)):
        label = f"rollback of step {step.index + 1} {action.operation} on {action.system}"
        try:
            inverse = plan_rollback(action, before)
        except ValueError as exc:
            result.rollback_failed = f"{label}: no trustworthy rollback ({exc})"
            with transaction.atomic():
                audit(
                    AuditAction.ROLLBACK_STEP,
                    f"{label}: cannot be planned ({exc})",
                    ticket=Ticket(pk=execution.ticket_id),
                    details={"step": step.index},
                )
            return
        key = f"{execution.key}:rb{step.index}"
        if inverse is None:
            note = CATALOGUE[action.operation].rollback_note or "irreversible"
            rb = _new_step(execution, base + offset, StepKind.ROLLBACK, action, key)
            rb.state = StepState.NOTHING_TO_UNDO
            rb.finished_at = timezone.now()
            _record(
                rb,
                ["state", "finished_at"],
                AuditAction.ROLLBACK_STEP,
                f"{label}: nothing to undo ({note})",
                {"step": step.index, "note": note},
            )
            continue
        rb = _new_step(execution, base + offset, StepKind.ROLLBACK, inverse, key)
        try:
            connector = connectors.for_action(inverse)
            answer = connector.execute(inverse, key)
            passed, checked = _check_restored(connector, action, inverse, before)
        except ConnectorError as exc:
            rb.state = StepState.UNKNOWN if isinstance(exc, ConnectorTimeout) else StepState.FAILED
            rb.error = _short(exc)
            rb.finished_at = timezone.now()
            _record(
                rb,
                ["state", "error", "finished_at"],
                AuditAction.ROLLBACK_STEP,
                f"{label}: {inverse.operation} failed ({rb.error})",
                {"step": step.index, "error": rb.error},
            )
            result.rollback_failed = f"{label}: {rb.error}"
            return
        rb.result = answer
        rb.postcheck = {"passed": passed, "results": checked}
        rb.state = StepState.SUCCEEDED if passed else StepState.FAILED
        rb.finished_at = timezone.now()
        _record(
            rb,
            ["result", "postcheck", "state", "finished_at"],
            AuditAction.ROLLBACK_STEP,
            f"{label}: {inverse.operation} {'done' if passed else 'ran but its checks failed'}"
            f" (params {dict(inverse.params)})",
            {"step": step.index, "inverse": inverse.to_dict(), "result": answer},
        )
        if not passed:
            result.rollback_failed = f"{label}: its post-checks failed"
            return
        result.rolled_back += 1
