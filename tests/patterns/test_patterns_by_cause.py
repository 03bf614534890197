"""Patterns are keyed on the diagnosed cause, not on the ticket's words: the same cause said
three ways is one pattern, two causes said in the same words are two, and the migration
that re-keys the history leaves numbers a recompute agrees with."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command

from patterns.models import Pattern
from patterns.rules.signature import signature_for
from remediation.connectors import registry
from remediation.tickets.models import Ticket
from tests.patterns.test_recompute import snapshot
from tests.support.doubles import LabDouble
from tests.support.factories import UserFactory, analyzed_ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"
HUNG = [
    ("VM hung", "The VM is hung, console frozen, host healthy."),
    (
        "Guest OS unresponsive",
        "The guest stopped responding: console frozen, no heartbeat from VMware tools; the "
        "ESXi host is fine.",
    ),
    (
        "Web server frozen after the nightly deploy",
        "VM hung after the nightly deploy: web service not responding, console frozen.",
    ),
]


def submit(api, drain_queue, ticket_id, title, description, affected):
    body = {
        "ticket_id": ticket_id,
        "title": title,
        "description": description,
        "category": "server",
        "affected_system": affected,
    }
    assert api.post(URL, body, format="json").status_code == 201
    drain_queue()
    return Ticket.objects.select_related("pattern").get(ticket_id=ticket_id)


def test_one_cause_in_three_wordings_is_one_pattern(seeded, api, drain_queue):
    tickets = [
        submit(api, drain_queue, f"INC-HUNG-{n}", title, description, f"prod-web-0{n + 1}")
        for n, (title, description) in enumerate(HUNG)
    ]
    # Their words share almost nothing...
    assert len({signature_for("server", t, d).hash for t, d in HUNG}) == 3
    # ...their cause is one, and so is their pattern.
    assert {t.diagnosis["cause"] for t in tickets} == {"hung"}
    assert len({t.pattern_id for t in tickets}) == 1
    pattern = Pattern.objects.get(pk=tickets[0].pattern_id)
    assert pattern.key_terms == ["cause:hung", "kind:vm", "operation:restart_vm"]
    assert pattern.occurrence_count == 3


def test_two_causes_in_the_same_words_are_two_patterns(seeded, api, drain_queue, investigating):
    """The same words over two VMs: one hung, one under memory pressure. What was observed
    decides the cause, and the cause decides the pattern."""
    double = LabDouble(conditions={"prod-web-01": "vm_hung", "prod-web-02": "memory_pressure"})
    words = ("Service down", "Web service not responding on port 8080")
    with registry.use(double):
        hung = submit(api, drain_queue, "INC-SAME-1", *words, "prod-web-01")
        starved = submit(api, drain_queue, "INC-SAME-2", *words, "prod-web-02")
    assert hung.diagnosis["cause"] != starved.diagnosis["cause"]
    assert hung.pattern_id != starved.pattern_id
    assert "cause:hung" in hung.pattern.key_terms


def test_a_ticket_without_an_established_cause_keeps_its_word_pattern(seeded, api, drain_queue):
    ticket = submit(
        api, drain_queue, "INC-VAGUE", "Service down", "Something is off with it", "prod-web-01"
    )
    assert ticket.diagnosis["established"] is False
    assert ticket.pattern.hash == signature_for("server", ticket.title, ticket.description).hash


def test_the_migration_rekeys_the_history_and_a_recompute_agrees(seeded):
    """History from before: the three wordings on three word patterns (with feedback-free
    statistics a recompute had settled). The migrations move them to their cause's pattern
    (0003) and rebuild (0006); a recompute afterwards finds nothing to rewrite."""
    submitter = UserFactory(username="integration")
    tickets = [
        analyzed_ticket(submitter, f"OLD-{n}", title=t, description=d)
        for n, (t, d) in enumerate(HUNG)
    ]
    for ticket in tickets:  # as the word signature used to place them
        sig = signature_for("server", ticket.title, ticket.description)
        old, _ = Pattern.objects.get_or_create(
            hash=sig.hash,
            defaults={
                "category": "server",
                "key_terms": list(sig.key_terms),
                "signature": sig.text,
            },
        )
        Ticket.objects.filter(pk=ticket.pk).update(pattern=old)
    call_command("recompute_patterns", stdout=StringIO())
    before = {t.pk: Ticket.objects.get(pk=t.pk).pattern_id for t in tickets}
    assert len(set(before.values())) == 3

    rekeyed = importlib.import_module("feedback.migrations.0003_patterns_keyed_on_causes")
    rebuilt = importlib.import_module("feedback.migrations.0006_eligibility_on_outcomes")
    rekeyed.rekey(django_apps, None)
    rebuilt.rebuild(django_apps, None)  # the rebuild every upgrade runs after the re-key

    after = {Ticket.objects.get(pk=t.pk).pattern_id for t in tickets}
    assert len(after) == 1
    pattern = Pattern.objects.get(pk=after.pop())
    assert pattern.key_terms == ["cause:hung", "kind:vm", "operation:restart_vm"]
    assert pattern.occurrence_count == 3
    incremental = snapshot()
    out = StringIO()
    call_command("recompute_patterns", stdout=out)
    assert snapshot() == incremental
    assert f"0/{Pattern.objects.count()} patterns had stale numbers" in out.getvalue()
