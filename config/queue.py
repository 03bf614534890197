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
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf

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
