"""manage.py qcluster: django-q2's worker cluster, stopping cleanly on SIGTERM.

Takes the place of django-q2's own ``qcluster`` (the ``remediation`` app is listed before
``django_q`` in INSTALLED_APPS), with the same options. The difference is in how it stops.

django-q2's cluster is a main process, a guard process (the sentinel) and its workers, pusher
and monitor. The children ignore SIGINT and leave stopping to the main process, which sets a
shared stop event the sentinel waits on. SIGTERM they do not ignore: when it reaches every
process at once (systemd's default, a signal to the process group) the sentinel dies while
waiting on that event, and the main process, setting it, waits forever for the dead waiter
to wake. Here every child ignores SIGTERM as it ignores SIGINT, and the main process only
notes the signal in its handler and stops the cluster from its own loop (never from inside
the handler): the pusher stops, each worker finishes the task it holds, the process exits
with status 0.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django_q import cluster
from django_q.conf import logger
from django_q.management.commands import qcluster

POLL_SECONDS = 0.2


class Sentinel(cluster.Sentinel):
    """django-q2's sentinel, ignoring SIGTERM before it starts its children (which inherit
    it): only the main process acts on a stop signal."""

    def __init__(
        self,
        stop_event: Any,
        start_event: Any,
        cluster_id: uuid.UUID,
        broker: Any = None,
        timeout: int | None = None,
        start: bool = True,
    ) -> None:
        super().__init__(stop_event, start_event, cluster_id, broker, timeout, start=False)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if start:
            self.start()


class Cluster(cluster.Cluster):
    """django-q2's cluster with the sentinel above; a stop signal is only noted."""

    def __init__(self) -> None:
        super().__init__()
        self.stop_requested = False
        signal.signal(signal.SIGTERM, self.note_signal)
        signal.signal(signal.SIGINT, self.note_signal)

    def note_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    def start(self) -> int:
        self.stop_event = multiprocessing.Event()
        self.start_event = multiprocessing.Event()
        self.sentinel = cluster.get_mp_context().Process(
            target=Sentinel,
            name=f"Process-{uuid.uuid4().hex}",
            args=(self.stop_event, self.start_event, self.cluster_id, self.broker, self.timeout),
        )
        self.sentinel.start()
        logger.info("Q Cluster %s starting.", self.name)
        return int(self.pid)


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        settings.SECRET_KEY  # noqa: B018  (signs the tasks: fail before starting without it)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        q = Cluster()
        q.start()
        while not q.stop_requested and q.sentinel.is_alive():
            if options.get("run_once") and q.start_event.is_set():
                break
            time.sleep(POLL_SECONDS)
        if not q.sentinel.is_alive():
            # It died by itself (not stopped by us): a service manager should restart it.
            raise CommandError(f"the cluster stopped by itself (exit {q.sentinel.exitcode})")
        q.stop()
