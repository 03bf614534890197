"""Run the tasks waiting on the ORM broker in this process, through django-q2's own worker
code: the path a ``qcluster`` worker takes for each task (``django_q.worker.worker``, then
``save_task`` and the broker's acknowledgement), one task at a time. Tasks enqueued by a
task run in the same call.

The incident replay (``replay/worker.py``) drives its worker the same way; it is a program
apart, so the tests keep their own drainer here rather than import it.
"""

from __future__ import annotations

from multiprocessing import Queue, Value

from django_q.brokers import get_broker
from django_q.monitor import save_task
from django_q.signing import SignedPackage
from django_q.worker import worker


def drain(max_tasks: int = 1000) -> int:
    """Dequeue each waiting task, execute it as a worker does, save its result, acknowledge.

    Returns the number of tasks run. A task that raises fails the calling test.
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
            # "sync" keeps the worker from closing this process's database connection (the
            # test's transaction lives on it); it also makes an exception in the task
            # propagate, so a crashing task fails the test.
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
