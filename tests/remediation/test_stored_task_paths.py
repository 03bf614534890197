"""The queue stores tasks and schedules by dotted path, so moving code must not break them.

Rows already in a production queue (and the schedules the migrations created) name these
paths; each must still import and run.
"""

from __future__ import annotations

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from policies.services import RESUMED_TASK
from remediation.approvals.services import NOTIFY_TASK
from remediation.execution.services import CONFIRM_TASK, RUN_TASK
from remediation.notifications.services import ADMIN_TASK
from remediation.tickets.services import ANALYZE_TASK

# Paths that tasks already in a queue may carry: they are part of the stored data.
STORED_PATHS = {
    "remediation.tasks.analyze_ticket",
    "remediation.tasks.notify_admins",
    "remediation.execution.tasks.run_execution",
    "remediation.execution.tasks.sweep_executions",
    "remediation.approvals.tasks.notify_approvers",
    "remediation.approvals.tasks.expire_approval_requests",
    "remediation.audit.tasks.seal_audit_anchors",
    "remediation.tasks.confirm_fix",
    "remediation.tasks.remediation_resumed",
    "remediation.scoring.tasks.refit_calibration",
}

pytestmark = pytest.mark.django_db


def test_the_paths_the_code_enqueues_are_the_stored_ones():
    assert {
        ANALYZE_TASK,
        ADMIN_TASK,
        RUN_TASK,
        NOTIFY_TASK,
        CONFIRM_TASK,
        RESUMED_TASK,
    } <= STORED_PATHS


def test_every_stored_path_imports_as_a_function():
    for path in STORED_PATHS:
        assert callable(import_string(path)), path


def test_the_migrations_schedule_only_stored_paths():
    scheduled = set(Schedule.objects.values_list("func", flat=True))
    assert scheduled == {
        "remediation.execution.tasks.sweep_executions",
        "remediation.approvals.tasks.expire_approval_requests",
        "remediation.audit.tasks.seal_audit_anchors",
        "remediation.scoring.tasks.refit_calibration",
    }


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("remediation.tasks.analyze_ticket", (0,)),
        ("remediation.tasks.notify_admins", (0,)),
        ("remediation.execution.tasks.run_execution", (0,)),
        ("remediation.execution.tasks.sweep_executions", ()),
        ("remediation.approvals.tasks.notify_approvers", (0,)),
        ("remediation.approvals.tasks.expire_approval_requests", ()),
        ("remediation.audit.tasks.seal_audit_anchors", ()),
        ("remediation.tasks.remediation_resumed", ("", "2026-01-01T00:00:00+00:00")),
        ("remediation.scoring.tasks.refit_calibration", ()),
    ],
)
def test_each_stored_path_runs_through_the_queue_worker(path, args):
    task_id = async_task(path, *args, sync=True)
    task = Task.objects.get(id=task_id)
    assert task.success, task.result
