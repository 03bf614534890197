"""`manage.py qcluster` stops on SIGTERM, as `docker stop` and systemd send it.

systemd (its default KillMode) signals every process of the service at once, as a signal to
the process group does; `docker stop` signals the main process only. Either way the worker
must exit, status 0, leaving no process behind, and a task running when the signal came
finishes first. The bound below is a liveness bound (did it exit at all), not a timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django_q.models import OrmQ, Success
from django_q.tasks import async_task

from tests.support.dbutil import start_manage, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXITS_WITHIN = 60  # seconds: generous; a cluster stuck in its stop would never exit


def group_alive(pgid: int) -> list[str]:
    """The processes still in the group (``ps``), zombies excluded."""
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-g", str(pgid)], capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line.split()[1:2] != ["Z"]]


def running(log: Path) -> bool:
    return "running." in log.read_text(errors="replace")


def send_and_wait(proc: subprocess.Popen, whole_group: bool, log: Path) -> int | None:
    try:
        if whole_group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=EXITS_WITHIN)
    except subprocess.TimeoutExpired:
        return None
    finally:
        left = group_alive(proc.pid)
        if proc.poll() is None or left:
            os.killpg(proc.pid, signal.SIGKILL)  # never leave a stuck cluster behind
            proc.wait(timeout=30)
        assert not left, f"still running after the stop:\n{left}\n{log.read_text()[-3000:]}"


@pytest.mark.parametrize("whole_group", [True, False], ids=["systemd", "docker-stop"])
def test_sigterm_stops_the_cluster_and_leaves_no_process(tmp_path, whole_group):
    log = tmp_path / "qcluster.log"
    proc = start_manage("qcluster", log=log)
    assert wait_for(lambda: running(log) or proc.poll() is not None, timeout=90), log.read_text()
    assert proc.poll() is None, log.read_text()

    code = send_and_wait(proc, whole_group, log)
    assert code == 0, f"exit status {code} (None: still running)\n{log.read_text()[-3000:]}"


def test_a_task_running_when_sigterm_comes_finishes_first(tmp_path):
    log = tmp_path / "qcluster.log"
    proc = start_manage("qcluster", log=log)
    assert wait_for(lambda: running(log) or proc.poll() is not None, timeout=90), log.read_text()
    async_task("time.sleep", 4, task_name="slow-one")
    # Handed to a worker: the broker locks the row it gave out.
    assert wait_for(lambda: OrmQ.objects.filter(lock__isnull=False).exists(), timeout=60)
    time.sleep(1)

    code = send_and_wait(proc, True, log)
    assert code == 0, f"exit status {code} (None: still running)\n{log.read_text()[-3000:]}"
    assert Success.objects.filter(name="slow-one").exists(), log.read_text()[-3000:]
