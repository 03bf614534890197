"""The task queue's broker: django-q2's ORM broker, with urgent tasks taken first.

The ORM broker hands out waiting tasks in no stated order (a ``LIMIT`` without ``ORDER BY``:
in practice the table's physical order, about first in, first out). During an alert storm
hundreds of analyses wait, and a task queued by a person (an approved execution) or one a
person waits for (telling approvers a request is open) would wait behind all of them:
minutes, not seconds.

This broker orders the queue by each task's ``lock`` time (then its id): a task is enqueued
with ``lock`` = now, so normal tasks go first in, first out; a task enqueued inside
:func:`urgent` gets a ``lock`` a day earlier, ahead of every normal task. Everything else is
the ORM broker's: a task is claimed by a conditional ``UPDATE`` of its ``lock`` (so two
clusters never both take it), redelivered ``retry`` seconds after a claim that was never
acknowledged, and enqueued in the caller's transaction (it commits or rolls back with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf, logger
from django_q.humanhash import uuid
from django_q.signals import pre_enqueue
from django_q.signing import SignedPackage

_URGENT: ContextVar[bool] = ContextVar("urgent_task", default=False)
# Ahead of any normal task: their locks are "now" when enqueued, or a retry time after.
AHEAD = timedelta(days=1)


@contextmanager
def urgent() -> Iterator[None]:
    """Tasks enqueued (``async_task``) inside this block are taken before the others."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


@dataclass(frozen=True)
class TaskRow:
    """A task as ``async_task`` would enqueue it through this broker: the queue row's
    ``key``, ``payload`` (the signed package) and ``lock``, and the task's id."""

    key: str
    payload: str
    lock: datetime
    task_id: str

    # django_q_ormq's columns, in the order of ``params``.
    SQL = "INSERT INTO django_q_ormq (key, payload, lock) VALUES (%s, %s, %s)"

    @property
    def params(self) -> list[Any]:
        return [self.key, self.payload, self.lock]

    def enqueued(self) -> None:
        """django-q's log line for an enqueued task, once its row is committed."""
        logger.info(f"Enqueued [{self.key}] {self.task_id}")


def enqueues_rows() -> bool:
    """Is a task a row of this database's queue table (this broker, tasks not run in the
    caller by ``sync``)? Then ``task_row`` gives the row ``async_task`` would insert."""
    return not Conf.SYNC and f"{__name__}.{PriorityOrmBroker.__name__}" == Conf.BROKER_CLASS


def task_row(func: str, *args: Any, task_name: str) -> TaskRow:
    """The queue row of ``async_task(func, *args, task_name=task_name)`` (the same package:
    id, name, function, arguments, options, ``started``, the ``pre_enqueue`` signal), for a
    caller that inserts it in a statement of its own (the ticket intake: one statement for
    the ticket, its audit row and its analysis). Only while ``enqueues_rows()``."""
    if not enqueues_rows():
        raise RuntimeError("task_row() is for the database queue; use async_task")
    tag = uuid()
    task: dict[str, Any] = {"id": tag[1], "name": task_name or tag[0], "func": func, "args": args}
    if Conf.CACHED:
        task["cached"] = Conf.CACHED
    if Conf.ACK_FAILURES:
        task["ack_failure"] = Conf.ACK_FAILURES
    task["kwargs"] = {}
    task["started"] = timezone.now()
    pre_enqueue.send(sender="django_q", task=task)
    lock = timezone.now() - AHEAD if _URGENT.get() else timezone.now()
    return TaskRow(Conf.CLUSTER_NAME, SignedPackage.dumps(task), lock, task["id"])


class PriorityOrmBroker(ORM):
    def enqueue(self, task: Any) -> Any:
        lock = timezone.now() - AHEAD if _URGENT.get() else timezone.now()
        package = self.get_connection().create(
            key=self.list_key or Conf.CLUSTER_NAME, payload=task, lock=lock
        )
        return package.pk

    def dequeue(self) -> list[tuple[Any, Any]] | None:
        waiting = (
            self.get_connection()
            .filter(key=self.list_key, lock__lt=timezone.now())
            .order_by("lock", "id")[0 : Conf.BULK]
        )
        tasks = list(waiting)
        if tasks:
            claimed = []
            for task in tasks:
                # Claimed only if its lock is still what we read: another cluster that took
                # it first changed it.
                if (
                    self.get_connection()
                    .filter(id=task.id, lock=task.lock)
                    .update(lock=self.timeout(task))
                ):
                    claimed.append((task.pk, task.payload))
            return claimed
        return super().dequeue()  # empty: the ORM broker's idle wait (``poll``)
