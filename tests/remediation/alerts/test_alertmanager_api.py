"""POST /api/v1/alerts/alertmanager: alerts become tickets, resolutions annotate them."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import ANY

import pytest
from django_q.models import OrmQ

from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketRepeat, TicketStatus
from tests.support.alerts import START, URL, alert, batch, copies
from tests.support.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mappings(seeded):
    """The seeded label mappings (instance, pod/namespace, node, catch-all)."""


def post(api, body, **kwargs):
    return api.post(URL, body, format="json", **kwargs)


class TestFiring:
    def test_a_firing_alert_becomes_a_ticket_with_mapped_fields(self, api, user):
        r = post(api, batch(alert()))
        assert r.status_code == 200, r.json()
        body = r.json()
        assert body["received"] == 1 and body["rejected"] == 0
        result = body["results"][0]
        assert result["outcome"] == "created"
        ticket = Ticket.objects.get(ticket_id=result["ticket_id"])
        assert ticket.ticket_id == f"am-5ef6c3f4a1b2c3d4-20261127T010000.000Z-{user.pk}"
        assert ticket.title == "InstanceDown: Service down on the web server"
        assert "Web service not responding" in ticket.description
        assert "instance=prod-web-01:9100" in ticket.description
        assert ticket.category == "server"
        assert ticket.affected_system == "prod-web-01"
        assert ticket.severity == "critical"
        assert ticket.source == "alertmanager"
        assert ticket.auto_remediation_enabled is False
        assert ticket.submitted_by == user
        assert ticket.status == TicketStatus.PROCESSING
        assert OrmQ.objects.count() == 1  # its analysis is queued like any ticket's
        record = AlertRecord.objects.get()
        assert record.ticket == ticket and record.deliveries == 1
        assert record.labels["job"] == "node" and record.receiver == "auto-remediation"

    def test_pod_and_node_labels_name_the_system(self, api):
        pod = alert(
            fingerprint="a1",
            labels={"alertname": "PodCrashLooping", "namespace": "shop", "pod": "web-7d9f"},
        )
        node = alert(
            fingerprint="a2",
            labels={"alertname": "NodeDiskFull", "node": "worker-3", "severity": "warning"},
        )
        r = post(api, batch(pod, node))
        assert r.status_code == 200
        p, n = (Ticket.objects.get(ticket_id=x["ticket_id"]) for x in r.json()["results"])
        assert (p.affected_system, p.category, p.severity) == (
            "shop/web-7d9f",
            "kubernetes",
            "medium",
        )
        assert (n.affected_system, n.category, n.severity) == ("worker-3", "server", "medium")

    def test_an_admin_opts_a_mapping_in_to_auto_remediation(self, api):
        AlertMapping.objects.filter(name__startswith="Prometheus target").update(
            enable_auto_remediation=True
        )
        r = post(api, batch(alert()))
        assert Ticket.objects.get(
            ticket_id=r.json()["results"][0]["ticket_id"]
        ).auto_remediation_enabled

    def test_a_redelivered_alert_counts_a_delivery_not_a_ticket(self, api):
        post(api, batch(alert()))
        r = post(api, batch(alert()))
        assert r.status_code == 200
        assert r.json()["results"][0]["outcome"] == "duplicate"
        assert Ticket.objects.count() == 1
        assert AlertRecord.objects.get().deliveries == 2
        assert Ticket.objects.get().repeat_count == 0
        assert OrmQ.objects.count() == 1

    def test_new_firings_of_the_same_alert_join_the_open_ticket(self, api):
        r = post(api, batch(*copies(5)))
        assert r.status_code == 200
        outcomes = [x["outcome"] for x in r.json()["results"]]
        assert outcomes == ["created"] + ["joined"] * 4
        ticket = Ticket.objects.get()
        assert {x["ticket_id"] for x in r.json()["results"]} == {ticket.ticket_id}
        assert ticket.repeat_count == 4
        assert TicketRepeat.objects.filter(ticket=ticket).count() == 4
        assert (
            AuditEvent.objects.filter(ticket=ticket, action=AuditAction.REPEAT_JOINED).count() == 4
        )
        assert OrmQ.objects.count() == 1
        shown = api.get(f"/api/v1/tickets/{ticket.ticket_id}").json()
        assert shown["repeat_count"] == 4 and shown["last_repeat_at"] is not None

    def test_the_same_alert_on_another_target_is_another_ticket(self, api):
        r = post(api, batch(alert(), alert(fingerprint="b2", instance="prod-web-02:9100")))
        assert [x["outcome"] for x in r.json()["results"]] == ["created", "created"]
        assert Ticket.objects.count() == 2

    def test_unknown_keys_from_a_newer_alertmanager_are_ignored(self, api):
        body = batch({**alert(), "silencedBy": []})
        body["newEnvelopeKey"] = {"x": 1}
        assert post(api, body).status_code == 200

    def test_a_target_outside_the_lab_is_accepted_and_goes_through_analysis(self, api, drain_queue):
        r = post(api, batch(alert(instance="db-core-99.example.net:9100")))
        ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
        assert ticket.affected_system == "db-core-99.example.net"
        drain_queue()
        ticket.refresh_from_db()
        # Analysis and the decision decide as for any ticket; nothing ran on it here.
        assert ticket.status != TicketStatus.PROCESSING
        assert ticket.auto_remediation_executed is False


class TestResolution:
    def test_a_resolution_annotates_the_ticket(self, api):
        post(api, batch(alert()))
        r = post(api, batch(alert(status="resolved", ends_at=START + timedelta(minutes=3))))
        assert r.status_code == 200
        assert r.json()["results"][0]["outcome"] == "resolved"
        ticket = Ticket.objects.get()
        assert ticket.alert_resolved_at is not None
        record = AlertRecord.objects.get()
        assert record.status == "resolved" and record.ends_at == START + timedelta(minutes=3)
        event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.ALERT_RESOLVED)
        assert "resolved by itself" in event.message
        # A resolution says the alert went away; it does not claim the ticket was fixed.
        assert ticket.status == TicketStatus.PROCESSING

    def test_a_ticket_awaiting_approval_says_its_alert_resolved_by_itself(self, api):
        post(api, batch(alert()))
        Ticket.objects.update(status=TicketStatus.AWAITING_APPROVAL)
        post(api, batch(alert(status="resolved", ends_at=START + timedelta(minutes=3))))
        ticket = Ticket.objects.get()
        note = api.get(f"/api/v1/tickets/{ticket.ticket_id}").json()["alert_note"]
        assert "resolved by itself" in note and "still needed" in note
        event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.ALERT_RESOLVED)
        assert "awaits approval" in event.message

    def test_the_ticket_is_resolved_only_when_every_joined_alert_is(self, api):
        first, second = copies(2)
        post(api, batch(first, second))
        post(api, batch({**first, "status": "resolved"}))
        assert Ticket.objects.get().alert_resolved_at is None
        post(api, batch({**second, "status": "resolved"}))
        assert Ticket.objects.get().alert_resolved_at is not None

    def test_a_new_firing_clears_the_resolution_note(self, api):
        first, second = copies(2)
        post(api, batch(first))
        post(api, batch({**first, "status": "resolved"}))
        post(api, batch(second))
        ticket = Ticket.objects.get()
        assert ticket.alert_resolved_at is None
        assert AuditEvent.objects.filter(ticket=ticket, action=AuditAction.ALERT_FIRING).exists()

    def test_only_the_sender_may_resolve_its_alert(self, api, client_for):
        """Another token resolving a known alert gets the unknown-alert answer; no note, no
        audit row, no delivery counted."""
        post(api, batch(alert()))
        before = AuditEvent.objects.count()
        other = client_for(UserFactory(username="integration2"))
        r = post(other, batch(alert(status="resolved", ends_at=START + timedelta(minutes=3))))
        unknown = post(other, batch(alert(status="resolved", fingerprint="0000000000000000")))
        assert r.status_code == 200
        assert r.json()["results"][0] == {**unknown.json()["results"][0], "fingerprint": ANY}
        assert r.json()["results"][0]["outcome"] == "unknown"
        assert r.json()["results"][0]["ticket_id"] is None
        assert Ticket.objects.get().alert_resolved_at is None
        record = AlertRecord.objects.get()
        assert (record.status, record.deliveries) == ("firing", 1)
        assert AuditEvent.objects.count() == before
        # Staff may.
        staff = client_for(UserFactory(username="oncall-lead", is_staff=True))
        r = post(staff, batch(alert(status="resolved", ends_at=START + timedelta(minutes=3))))
        assert r.json()["results"][0]["outcome"] == "resolved"

    def test_another_sender_cannot_take_an_alerts_firing(self, api, client_for):
        """A token that fires an alert's fingerprint first does not capture the real sender's
        delivery of it: each sender's firing is its own."""
        squatter = client_for(UserFactory(username="integration2"))
        post(squatter, batch(alert()))
        r = post(api, batch(alert()))
        assert r.json()["results"][0]["outcome"] == "created"
        tickets = {t.submitted_by.username for t in Ticket.objects.all()}
        assert tickets == {"alice", "integration2"}

    def test_a_resolution_for_an_unknown_alert_changes_nothing(self, api):
        r = post(api, batch(alert(status="resolved")))
        assert r.status_code == 200
        assert r.json()["results"][0]["outcome"] == "unknown"
        assert not Ticket.objects.exists() and not AlertRecord.objects.exists()


class TestBadInput:
    def test_it_needs_a_token(self, anon):
        assert anon.post(URL, batch(alert()), format="json").status_code == 401
        assert not Ticket.objects.exists()

    @pytest.mark.parametrize(
        ("mutate", "path"),
        [
            (lambda b: b.pop("alerts"), "alerts"),
            (lambda b: b.update(alerts="x"), "alerts"),
            (lambda b: b.update(alerts=[]), "alerts"),
            (lambda b: b.update(version="3"), "version"),
            (
                lambda b: b["alerts"][3]["labels"].update(severity="crit\x00ical"),
                "alerts[3].labels.severity",
            ),
            (lambda b: b["alerts"][3]["labels"].update(severity=5), "alerts[3].labels.severity"),
            (
                lambda b: b["alerts"][3]["labels"].update(severity="s" * 1025),
                "alerts[3].labels.severity",
            ),
            (
                lambda b: b["alerts"][1]["labels"].update({"bad name": "x"}),
                "alerts[1].labels.bad name",
            ),
            (lambda b: b["alerts"][1].update(labels=["a"]), "alerts[1].labels"),
            (
                lambda b: b["alerts"][1].update(labels={f"l{i}": "v" for i in range(65)}),
                "alerts[1].labels",
            ),
            (
                lambda b: b["alerts"][2]["annotations"].update(summary="x" * 8001),
                "alerts[2].annotations.summary",
            ),
            (
                lambda b: b["alerts"][2]["annotations"].update({f"a{i}": "v" for i in range(33)}),
                "alerts[2].annotations",
            ),
            (lambda b: b["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
            (lambda b: b["alerts"][0].update(status="pending"), "alerts[0].status"),
            (lambda b: b["alerts"][0].update(fingerprint="XYZ"), "alerts[0].fingerprint"),
            (lambda b: b.update(receiver="r\x00"), "receiver"),
            (lambda b: b.update(truncatedAlerts="1"), "truncatedAlerts"),
        ],
    )
    def test_a_malformed_payload_names_the_path_and_stores_nothing(self, api, mutate, path):
        body = batch(*copies(4))
        mutate(body)
        r = post(api, body)
        assert r.status_code == 400, r.json()
        assert path in r.json()["error"]["fields"], r.json()
        assert not Ticket.objects.exists() and not AlertRecord.objects.exists()

    def test_a_batch_over_the_limit_is_refused(self, api):
        r = post(api, batch(*[alert(fingerprint=f"{i:x}") for i in range(501)]))
        assert r.status_code in (400, 413)
        assert not Ticket.objects.exists()

    def test_the_body_must_be_a_json_object(self, api):
        assert api.post(URL, "[1]", content_type="application/json").status_code == 400
        assert api.post(URL, "{", content_type="application/json").status_code == 400

    def test_a_partly_good_batch_stores_the_good_alerts_and_reports_the_bad(self, api):
        good = alert()
        bad_system = alert(fingerprint="b1", instance="not a host name")
        no_name = alert(fingerprint="b2", labels={"instance": "prod-web-03:9100"})
        bad_category = alert(
            fingerprint="b3",
            labels={"alertname": "X", "instance": "prod-web-04", "category": "Web Server"},
        )
        r = post(api, batch(good, bad_system, no_name, bad_category))
        assert r.status_code == 207
        body = r.json()
        assert body["rejected"] == 3
        results = body["results"]
        assert results[0]["outcome"] == "created"
        assert [x["outcome"] for x in results[1:]] == ["rejected"] * 3
        assert "alerts[1].labels.instance" in results[1]["errors"]
        assert "alerts[2].labels.alertname" in results[2]["errors"]
        assert "alerts[3].labels.category" in results[3]["errors"]
        assert list(Ticket.objects.values_list("ticket_id", flat=True)) == [results[0]["ticket_id"]]
        assert AlertRecord.objects.count() == 1

    @pytest.mark.parametrize(
        "starts_at", ["yesterday", "2026-02-30T00:00:00Z", "0001-01-01T00:00:00+14:00"]
    )
    def test_an_unreadable_start_rejects_that_alert_alone(self, api, starts_at):
        bad = {**alert(fingerprint="d1"), "startsAt": starts_at}
        r = post(api, batch(alert(), bad))
        assert r.status_code == 207
        assert "alerts[1].startsAt" in r.json()["results"][1]["errors"]
        assert Ticket.objects.count() == 1

    def test_alertmanagers_nanoseconds_and_zero_end_time_are_read(self, api, user):
        firing = {**alert(), "startsAt": "2026-11-27T01:00:00.123456789+01:00"}
        r = post(api, batch(firing))
        tid = r.json()["results"][0]["ticket_id"]
        assert tid == f"am-5ef6c3f4a1b2c3d4-20261127T000000.123Z-{user.pk}"
        resolved = {**firing, "status": "resolved", "endsAt": "garbage"}
        assert post(api, batch(resolved)).json()["results"][0]["outcome"] == "resolved"
        assert AlertRecord.objects.get().ends_at is None

    def test_an_alert_reusing_another_tickets_id_is_rejected_alone(self, api, user):
        # The ticket API refuses the alerts' prefix (tests/remediation/tickets/
        # test_reserved_ids.py): a ticket stored some other way holds the id here.
        TicketFactory(
            ticket_id=f"am-5ef6c3f4a1b2c3d4-20261127T010000.000Z-{user.pk}", submitted_by=user
        )
        r = post(api, batch(alert(), alert(fingerprint="c1", instance="prod-web-09:9100")))
        assert r.status_code == 207
        assert [x["outcome"] for x in r.json()["results"]] == ["rejected", "created"]
        assert "alerts[0].fingerprint" in r.json()["results"][0]["errors"]
