"""A small alert storm, accounted for alert by alert (PostgreSQL, real threads).

Three senders (each its own service account and token), two alert groups each of ten
hosts, five notification rounds per group: the same firings re-notified, a copy of each
notification sent at once by an HA peer, some alerts resolving and then firing anew
(a flap, which storm control folds into the open ticket). The intake throttle is on and
low, so the HA copies and the concurrent groups of one sender go past it: the refused
notifications are retried the way Alertmanager retries (a 5xx, with backoff; a 4xx would
be dropped). Then every alert must be found: each firing created or joined exactly one
ticket once, every other delivery of it counted as a duplicate on its record, every
resolution noted once; nothing lost, nothing twice, one analysis per ticket.

Skipped on SQLite: its writers take one database-wide lock, so these threads would only
ever run one at a time and the row locks this proves are not exercised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from django.db import connection
from django_q.models import OrmQ
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.alerts.models import AlertRecord, AlertStatus
from remediation.alerts.rules import alert_ticket_id
from remediation.tickets.models import Ticket, TicketRepeat
from tests.support.alerts import URL
from tests.support.factories import UserFactory

SENDERS = 3
GROUPS = (("InstanceDown", "critical"), ("DiskAlmostFull", "warning"))
HOSTS = 10
ROUNDS = 5
START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plan(group: int) -> list[list[dict[str, Any]]]:
    """The group's notifications: host h is down in round r when (h + r + group) % 4 == 0,
    sent resolved once, then firing anew (new startsAt) in its next round."""
    name, severity = GROUPS[group]
    started: dict[int, datetime | None] = dict.fromkeys(range(HOSTS))
    rounds = []
    for r in range(ROUNDS):
        now = START + timedelta(seconds=30 * r)
        alerts = []
        for h in range(HOSTS):
            base = {
                "labels": {
                    "alertname": name,
                    "instance": f"node-{h:02d}:9100",
                    "job": "node",
                    "severity": severity,
                },
                "annotations": {"summary": f"{name} on the node"},
                "fingerprint": f"{group:02x}{h:014x}",
            }
            began = started[h]
            if (h + r + group) % 4 == 0 and r > 0:
                if began is not None:
                    ended = {"startsAt": _iso(began), "endsAt": _iso(now)}
                    alerts.append({**base, "status": "resolved", **ended})
                    started[h] = None
                continue
            if began is None:
                began = started[h] = now
            firing = {"startsAt": _iso(began), "endsAt": "0001-01-01T00:00:00Z"}
            alerts.append({**base, "status": "firing", **firing})
        rounds.append(alerts)
    return rounds


def _envelope(alerts: list[dict[str, Any]], group: int) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{GROUPS[group][0]}"}}',
        "status": "firing",
        "receiver": "auto-remediation",
        "groupLabels": {"alertname": GROUPS[group][0]},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


class _Answers(NamedTuple):
    codes: Counter[int]
    # (sender, fingerprint, startsAt, status) -> outcomes answered
    outcomes: dict[tuple[int, str, str, str], list[str]]
    named: dict[tuple[int, str, str], set[str]]
    failures: list[str]


def _storm(  # noqa: C901 (the threads are nested functions)
    senders: list[tuple[Any, str]], plans: list[list[list[dict[str, Any]]]]
) -> _Answers:
    """Each sender's groups notify concurrently, one flush at a time per group, each flush
    sent twice at once (an HA pair); a 5xx is retried with backoff, as Alertmanager does."""
    lock = threading.Lock()
    codes: Counter[int] = Counter()
    # (sender, fingerprint, startsAt, status) -> outcomes answered
    outcomes: dict[tuple[int, str, str, str], list[str]] = defaultdict(list)
    named: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    failures: list[str] = []

    def notify(s: int, key: str, alerts: list[dict[str, Any]], group: int) -> None:
        try:
            deliver(s, key, alerts, group)
        except Exception as exc:  # shown by the assertion below, not lost in a thread
            with lock:
                failures.append(repr(exc)[:500])
        finally:
            connection.close()

    def deliver(s: int, key: str, alerts: list[dict[str, Any]], group: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        wait = 0.2
        for _ in range(60):  # Alertmanager: retry a 5xx with backoff until the flush ends
            r = client.post(URL, _envelope(alerts, group), format="json")
            with lock:
                codes[r.status_code] += 1
            if r.status_code == 200:
                with lock:
                    for alert, res in zip(alerts, r.json()["results"], strict=True):
                        k = (s, alert["fingerprint"], alert["startsAt"], alert["status"])
                        outcomes[k].append(res["outcome"])
                        if res["ticket_id"]:
                            named[k[:3]].add(res["ticket_id"])
                return
            if r.status_code < 500:
                with lock:
                    failures.append(f"{r.status_code} {r.content[:200]!r}")
                return
            time.sleep(wait)
            wait = min(wait * 1.5, 2.0)
        with lock:
            failures.append("gave up")

    def group(s: int, key: str, g: int) -> None:
        try:
            for alerts in plans[g]:  # one flush at a time per group, as Alertmanager
                peers = [
                    threading.Thread(target=notify, args=(s, key, alerts, g)) for _ in range(2)
                ]
                for t in peers:
                    t.start()
                for t in peers:
                    t.join(timeout=300)
        except Exception as exc:  # shown by the assertion below, not lost in a thread
            with lock:
                failures.append(repr(exc)[:500])
        finally:
            connection.close()

    threads = [
        threading.Thread(target=group, args=(s, key, g))
        for s, (_, key) in enumerate(senders)
        for g in range(len(GROUPS))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)

    return _Answers(codes, outcomes, named, failures)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_throttled_storm_from_several_senders_loses_and_doubles_nothing(
    seeded, is_postgres, settings
):
    if not is_postgres:
        pytest.skip("row locks under real concurrency need PostgreSQL (SQLite serializes)")
    # Each sender's concurrent notifications (two groups, each with an HA copy: 80 alerts at
    # once) go past 30 alerts a second: some are refused and must be retried.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"intake": "30/s"},
    }
    senders = []
    for s in range(SENDERS):
        user = UserFactory(username=f"alertmanager-{s}")
        senders.append((user, ApiToken.objects.create(user=user, name="am")[1]))
    plans = [_plan(g) for g in range(len(GROUPS))]

    codes, outcomes, named, failures = _storm(senders, plans)

    assert failures == []
    assert codes[503] > 0, "the storm never went past the throttle: nothing was retried"
    assert set(codes) <= {200, 503}

    # What was sent, from the plan: each firing and resolution, twice per round it is in.
    firings = {
        (s, a["fingerprint"], a["startsAt"])
        for s in range(SENDERS)
        for p in plans
        for alerts in p
        for a in alerts
        if a["status"] == "firing"
    }
    resolutions = {
        (s, a["fingerprint"], a["startsAt"])
        for s in range(SENDERS)
        for p in plans
        for alerts in p
        for a in alerts
        if a["status"] == "resolved"
    }
    tickets_expected = SENDERS * len(GROUPS) * HOSTS  # one incident per sender, alert, host
    joins_expected = len(firings) - tickets_expected  # every flap folds into its open ticket
    assert joins_expected > 0 and resolutions

    records = {r.key: r for r in AlertRecord.objects.select_related("ticket")}
    assert len(records) == len(firings)
    joined: Counter[str] = Counter()
    for s, fp, starts in firings:
        outs = outcomes[(s, fp, starts, "firing")]
        new = [o for o in outs if o in ("created", "joined")]
        assert len(new) == 1, (s, fp, starts, outs)  # not lost, not twice
        assert set(outs) <= {"created", "joined", "duplicate"}
        record = records[alert_ticket_id(fp, datetime.fromisoformat(starts), senders[s][0].pk)]
        assert record.ticket is not None
        assert named[(s, fp, starts)] == {record.ticket.ticket_id}
        resolved = outcomes.get((s, fp, starts, "resolved"), [])
        # Every answered delivery, firing or resolution, counted once on the record.
        assert record.deliveries == len(outs) + len(resolved)
        if (s, fp, starts) in resolutions:
            assert sorted(resolved) == ["duplicate", "resolved"]
            assert record.status == AlertStatus.RESOLVED
        else:
            assert record.status == AlertStatus.FIRING
        joined[record.ticket.ticket_id] += new == ["joined"]

    every = Counter(o for outs in outcomes.values() for o in outs)
    assert every["created"] == tickets_expected == Ticket.objects.count()
    assert every["joined"] == joins_expected == TicketRepeat.objects.count()
    assert "unknown" not in every and "rejected" not in every
    for ticket_id, repeats in Ticket.objects.values_list("ticket_id", "repeat_count"):
        assert repeats == joined[ticket_id]
    assert OrmQ.objects.count() == tickets_expected  # one analysis per ticket
