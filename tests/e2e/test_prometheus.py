"""A real Prometheus scrapes a running server and answers the design's PromQL with the right
numbers, after activity spread over two web processes and two other processes (the
qcluster worker and a management command).

Prometheus runs with the shipped scrape configuration (targets and intervals changed for
the test) and the shipped alert rules.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from demo.management.commands.seed_demo import NEGATIVE, NEUTRAL
from feedback.models import Feedback
from patterns.models import Pattern
from remediation.accounts.models import ApiToken
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from tests.conftest import make_teacher
from tests.support.dbutil import ROOT, start_manage, stop, wait_for
from tests.support.factories import UserFactory
from tests.support.servers import (
    PROMETHEUS,
    free_port,
    gunicorn_port,
    production_env,
    start_gunicorn,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs /usr/bin/prometheus (Debian)"),
]

DEPLOY = ROOT / "deploy"
SUCCESS_RATE = (
    "rate(datacenter_docs_auto_remediation_success_total[1h]) / "
    "rate(datacenter_docs_auto_remediation_attempts_total[1h])"
)
FEEDBACK_SENTIMENT = "sum(datacenter_docs_feedback_total) by (type)"


def http_json(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    body = json.dumps(data).encode() if data is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("datacenter_docs_")
    }


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if len(result) == 1 else None


def prometheus_config(tmp_path: Path, *, business: str, processes: list[str]) -> Path:
    """The shipped prometheus.yml, pointed at the test's processes, scraping every second."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(DEPLOY / "prometheus" / "alerts.yml")]
    config.pop("alerting")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    jobs["auto-remediation"]["static_configs"] = [{"targets": [business]}]
    jobs["auto-remediation-processes"]["static_configs"] = [{"targets": processes}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def numbers_in_the_database() -> tuple[int, int, int, dict[str, int]]:
    """Executed tickets, their successes and failures, and trusted feedback by type."""
    executed = Ticket.objects.filter(auto_remediation_executed=True)
    feedback = {"positive": 0, "negative": 0, "neutral": 0}
    for kind in feedback:
        feedback[kind] = Feedback.objects.filter(trusted=True, feedback_type=kind).count()
    return (
        executed.count(),
        executed.filter(outcome=TicketOutcome.SUCCESS).count(),
        executed.filter(outcome=TicketOutcome.FAILURE).count(),
        feedback,
    )


def events(log: Path) -> list[dict]:
    """The JSON event lines of a process log (gunicorn's own lines are not Django's)."""
    lines = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.django_db(transaction=True)
def test_the_documented_promql_gives_the_right_numbers_from_a_real_scrape(seeded, tmp_path):
    alice = UserFactory(username="alice", email="alice@example.com")
    token = ApiToken.objects.create(user=alice, name="test")[1]
    # Feedback counts from trusted people who did not submit the ticket (docs/learning.md).
    tess = make_teacher(UserFactory(username="tess", email="tess@example.com"))
    reviewer_token = ApiToken.objects.create(user=tess, name="test")[1]
    env = production_env(tmp_path, LOG_FORMAT="json")
    logs = {name: tmp_path / f"{name}.log" for name in ("web_a", "web_b", "worker", "prom")}
    processes = []
    try:
        # Every process of one installation shares SECRET_KEY: django-q2 signs the tasks.
        same = {k: env[k] for k in ("SECRET_KEY", "DEBUG", "LOG_FORMAT", "STATIC_ROOT")}
        worker = start_manage("qcluster", log=logs["worker"], **same)
        processes.append(worker)
        web_a = start_gunicorn(env, log=logs["web_a"])
        processes.append(web_a)
        web_b = start_gunicorn(env, log=logs["web_b"])
        processes.append(web_b)
        a = f"127.0.0.1:{gunicorn_port(web_a, logs['web_a'])}"
        b = f"127.0.0.1:{gunicorn_port(web_b, logs['web_b'])}"

        prom_port = free_port()
        config = prometheus_config(tmp_path, business=a, processes=[a, b])
        prom_proc = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=logs["prom"].open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(prom_proc)
        prom = Prometheus(f"http://127.0.0.1:{prom_port}")

        def baseline_scraped():
            try:
                return (
                    prom.value(
                        "count_over_time(datacenter_docs_auto_remediation_attempts_total[1h])"
                    )
                    or 0
                ) >= 2
            except OSError:
                return False

        assert wait_for(baseline_scraped, timeout=90), logs["prom"].read_text()[-3000:]
        assert prom.value("max_over_time(datacenter_docs_auto_remediation_attempts_total[1h])") == 0

        # Activity on both web processes: tickets (analyzed by the worker), then feedback.
        ticket_on = {"INC-P-1": a, "INC-P-2": a, "INC-P-3": b, "INC-P-4": b}
        for n, (ticket_id, web) in enumerate(ticket_on.items(), start=1):
            status, body = http_json(
                f"http://{web}/api/v1/tickets",
                data={
                    "ticket_id": ticket_id,
                    "title": "Service down",
                    "description": "Web service not responding on port 8080",
                    "category": "server",
                    # Four incidents, not repeats of one (storm control would join those).
                    "affected_system": f"prod-web-{n:02d}",
                },
                token=token,
            )
            assert status == 201, body

        def analyzed():
            return not Ticket.objects.filter(
                ticket_id__in=ticket_on, status=TicketStatus.PROCESSING
            ).exists()

        assert wait_for(analyzed, timeout=90), logs["worker"].read_text()[-3000:]
        web_feedback = [
            ("INC-P-1", a, {"feedback_type": "positive", "rating": 5}),
            ("INC-P-2", b, NEGATIVE),
            ("INC-P-3", a, NEUTRAL),
            ("INC-P-4", b, {"feedback_type": "positive", "rating": 4}),
        ]
        for ticket_id, web, given in web_feedback:
            status, body = http_json(
                f"http://{web}/api/v1/feedback",
                data={"ticket_id": ticket_id, **given},
                token=reviewer_token,
            )
            assert status == 201, body

        # Executions and more feedback from another process: the demo history command.
        demo = start_manage("seed_demo", "--force", log=tmp_path / "seed_demo.log", **same)
        processes.append(demo)
        assert demo.wait(timeout=300) == 0, (tmp_path / "seed_demo.log").read_text()[-3000:]

        # What the database holds after both web processes and the demo's process wrote:
        # executed tickets by outcome, and trusted feedback by type.
        attempts, successes, failures, feedback = numbers_in_the_database()
        assert attempts >= 10 and successes >= 8 and failures >= 1  # the demo ran
        assert feedback["positive"] >= 2 and feedback["neutral"] >= 1

        def scraped_final():
            return prom.value("datacenter_docs_auto_remediation_attempts_total") == attempts and (
                prom.value('datacenter_docs_feedback_total{type="positive"}')
                == feedback["positive"]
            )

        assert wait_for(scraped_final, timeout=60)

        # The design's success rate: successes per attempt over the last hour.
        assert prom.value(SUCCESS_RATE) == pytest.approx(successes / attempts, rel=1e-9)
        assert prom.value("datacenter_docs_auto_remediation_failures_total") == failures
        # The design's feedback sentiment: every feedback once, though two processes answer
        # /metrics (the shipped scrape config reads the design's metrics from one address).
        sentiment = {
            r["metric"]["type"]: float(r["value"][1]) for r in prom.query(FEEDBACK_SENTIMENT)
        }
        assert sentiment == {k: float(v) for k, v in feedback.items()}

        # Both web processes answer the same numbers: they are read from the database.
        steady = (
            "datacenter_docs_auto_remediation_attempts_total",
            "datacenter_docs_auto_remediation_success_total",
            "datacenter_docs_auto_remediation_failures_total",
            "datacenter_docs_feedback_total",
            "datacenter_docs_reliability_score",
            "datacenter_docs_eligible_patterns",
        )
        from_a = {k: v for k, v in scrape(f"http://{a}").items() if k[0] in steady}
        from_b = {k: v for k, v in scrape(f"http://{b}").items() if k[0] in steady}
        assert from_a == from_b
        assert from_a[("datacenter_docs_eligible_patterns", ())] == (
            Pattern.objects.filter(eligible_for_auto_remediation=True, enabled=True).count()
        )

        # Each web process is scraped for its own metrics.
        up = {r["metric"]["instance"]: r["value"][1] for r in prom.query("up")}
        assert up == {a: "1", b: "1"}

        # The shipped rules are loaded, and every dashboard query evaluates.
        with urllib.request.urlopen(f"{prom.url}/api/v1/rules", timeout=30) as response:
            groups = json.loads(response.read())["data"]["groups"]
        names = {rule["name"] for group in groups for rule in group["rules"]}
        assert {"LowReliabilityScore", "HighAutoRemediationFailureRate", "WorkerStopped"} <= names
        dashboard = json.loads((DEPLOY / "grafana" / "auto-remediation.json").read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                prom.query(target["expr"])
        assert (
            prom.value("avg(datacenter_docs_reliability_score)") is not None
        )  # the design's alert expression has data

        # JSON logs: a ticket followed from intake (web) through analysis (worker).
        web_events = events(logs["web_a"]) + events(logs["web_b"])
        assert {
            (e["event"], e["ticket_id"], e["user"])
            for e in web_events
            if e.get("event") == "ticket.created"
        } == {("ticket.created", t, "alice") for t in ticket_on}
        worker_events = events(logs["worker"])
        assert ("analysis.completed", "system") in {
            (e.get("event"), e.get("user"))
            for e in worker_events
            if e.get("ticket_id") == "INC-P-3"
        }
    finally:
        for proc in reversed(processes):
            stop(proc)
