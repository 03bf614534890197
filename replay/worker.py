"""Run queued django-q2 tasks in this process through django-q2's own worker code.

The same code path a qcluster worker takes for each task (``django_q.worker.worker``, then
``save_task`` and the broker's acknowledgement), one task at a time, so the replay is
deterministic and needs no second process. Tasks enqueued by a task run in the same call.
The tests keep a drainer of their own (``tests/support/queue.py``): the replay is a program
apart, and nothing of the tests is part of it.
"""

from __future__ import annotations

from multiprocessing import Queue, Value
from unittest.mock import patch

from django_q.brokers import get_broker
from django_q.monitor import save_task
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage
from django_q.worker import worker


def drain(max_tasks: int = 1000) -> int:
    """Dequeue each waiting task, execute it as a worker does, save its result, acknowledge.

    Returns the number of tasks run.
    """
    broker = get_broker()
    ran = 0
    while ran < max_tasks:
        # The broker's dequeue sleeps for the poll interval when the queue is empty (a
        # cluster's idle wait): ask first, so an empty queue costs one count, not 0.2 s.
        if not broker.queue_size():
            return ran
        batch = broker.dequeue()
        if not batch:
            return ran
        for ack_id, payload in batch:
            task = SignedPackage.loads(payload)
            task["ack_id"] = ack_id
            # "sync" keeps the worker from closing this process's database connection; it
            # also makes an exception in the task propagate (a crashing task fails a test).
            task["sync"] = True
            task_queue: Queue = Queue()
            result_queue: Queue = Queue()
            task_queue.put(task)
            task_queue.put("STOP")
            # The shared timer a worker reports its progress in, as the cluster gives it.
            worker(task_queue, result_queue, Value("f", -1))
            done = result_queue.get(timeout=60)
            save_task(done, broker)
            broker.acknowledge(ack_id)
            ran += 1
    return ran


def run_due_schedules() -> int:
    """Hand every schedule due by now to the queue as a qcluster's scheduler does (django-q2's
    own ``scheduler``), then run what it queued with ``drain``. Returns the tasks run.

    The scheduler closes old database connections first, as a cluster process may; here
    the whole replay (and a test around it) shares this process's one connection, so that
    step is left out, as ``drain`` keeps the worker from closing it."""
    with patch("django_q.scheduler.close_old_django_connections", lambda: None):
        scheduler(broker=get_broker())
    return drain()
