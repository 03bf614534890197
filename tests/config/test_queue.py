"""The broker takes urgent tasks (an approved execution, notices for people) before a
storm's analyses, and the others first in, first out."""

from __future__ import annotations

from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from config.queue import PriorityOrmBroker, urgent


def _taken(broker) -> list[tuple[str, tuple]]:
    out = []
    while broker.queue_size():
        for _, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            out.append((task["func"], task["args"]))
    return out


def test_the_cluster_uses_the_priority_broker(db):
    assert isinstance(get_broker(), PriorityOrmBroker)


def test_an_urgent_task_queued_behind_a_storm_is_taken_first(db):
    for n in range(30):
        async_task("math.floor", n)
    with urgent():
        async_task("math.ceil", 1)
    async_task("math.floor", 30)
    taken = _taken(get_broker())
    assert taken[0] == ("math.ceil", (1,))
    # The rest in the order they were queued, each once.
    assert taken[1:] == [("math.floor", (n,)) for n in range(31)]


def test_urgent_ends_with_its_block(db):
    with urgent():
        async_task("math.ceil", 1)
    async_task("math.floor", 2)
    with urgent():
        async_task("math.ceil", 3)
    assert [args for _, args in _taken(get_broker())] == [(1,), (3,), (2,)]
