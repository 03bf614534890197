"""manage.py seed_demo: a labelled demo history, so a first look at the system shows learning.

Everything is marked as demo: ticket ids start with ``DEMO-``, tickets have source
``demo`` and the submitter is the user ``demo``. It relies on the runbooks shipped by the
migrations, as real tickets do.
It is built through the same services as real traffic (intake, analysis, decision, feedback,
outcomes), so every statistic, score and audit line is what the system itself computed.

It loads only into the quickstart's own database (``settings.QUICKSTART_DATABASE``, the
SQLite file under ``var/``) unless ``--force`` says otherwise: the demo policy it adds lets
the server category's pattern run unattended, which no real database should get by mistake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from feedback.verdicts.services import FeedbackInput, feedback_submit
from patterns.models import Pattern
from policies.models import AutoRemediationPolicy
from remediation.analysis.services import ticket_analyze
from remediation.connectors.mcp import ConnectorError, McpSession
from remediation.execution.tasks import run_execution
from remediation.management.commands.lab import lab_spec
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from remediation.tickets.transitions import ticket_transition

DEMO_USER = "demo"
DEMO_REVIEWER = "demo-reviewer"
DEMO_PREFIX = "DEMO-"
DEMO_SOURCE = "demo"

POSITIVE = {
    "feedback_type": "positive",
    "rating": 5,
    "resolution_accurate": True,
    "actions_worked": True,
    "was_helpful": True,
}
NEGATIVE = {"feedback_type": "negative", "rating": 1, "actions_worked": False, "was_helpful": False}
NEUTRAL = {"feedback_type": "neutral", "rating": 3}

# (category, title, description, hosts, executed, feedback per ticket in order)
HISTORY: list[tuple[str, str, str, list[str], bool, list[dict[str, Any]]]] = [
    # Earns eligibility: frequent, executed after approval, and it worked every time.
    (
        "server",
        "Web service not responding on {h}",
        "VM {h} hung: web service not responding, server not responding, vm unresponsive.",
        [f"prod-web-{n:02d}" for n in range(1, 9)],
        True,
        [POSITIVE] * 8,
    ),
    # Frequent but unreliable: mixed feedback keeps it from ever becoming eligible.
    (
        "network",
        "Interface errors on {h}",
        "CRC errors on interface Gi0/1 of {h} stopped incrementing after the optic was replaced; "
        "the old counters still trip the alert.",
        [f"core-sw-{n:02d}" for n in range(1, 7)],
        True,
        [POSITIVE, NEGATIVE, POSITIVE, NEUTRAL, NEGATIVE, POSITIVE],
    ),
    # Young pattern: good so far, too few occurrences.
    (
        "storage",
        "Volume full on {h}",
        "Disk full: disk usage at 99% on volume {h} from steady data growth. Expand to 2 TB.",
        ["vol-data-01", "vol-data-02"],
        False,
        [POSITIVE, POSITIVE],
    ),
    # Nothing known about it: no runbook matches, a person handles it.
    (
        "database",
        "Replication lag on {h}",
        "Replica {h} is 40 minutes behind its primary.",
        ["pg-replica-01"],
        False,
        [],
    ),
]


# What the lab shows on each history ticket's system while it is analysed (category ->
# condition, interface): the investigation observes it, as it would observe a real fault,
# and the fault is healed once the ticket is analysed (the history says it was fixed).
# Categories not here name systems the lab does not have: a person handles those.
STAGED: dict[str, tuple[str, str | None]] = {
    "server": ("vm_hung", None),
    "network": ("interface_errors", "Gi0/1"),
    "storage": ("volume_full", None),
}


# Waiting at the end of the history, for a first look at the approval queue (/approvals/):
# tickets that opted in to auto-remediation in a category with no policy, so a person must
# approve them. (category, title, description, host)
WAITING: list[tuple[str, str, str, str]] = [
    (
        "server",
        "Web service not responding on {h}",
        "VM {h} hung: web service not responding, server not responding, vm unresponsive.",
        "prod-web-05",
    ),
    (
        "server",
        "Web service not responding on {h}",
        "VM {h} hung after the nightly deploy: web service not responding.",
        "prod-web-06",
    ),
]


# The history is spread over the past weeks, so the analytics page draws lines on a first
# look: the Nth of the history's tickets is submitted HISTORY_DAYS * N / total days ago.
HISTORY_DAYS = 35


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    """Django's clock (``django.utils.timezone.now``) set to ``moment`` and running on, for
    the history's past tickets: what they write (their rows, their audit trail, their
    pattern's changes) is dated then, in the order it happened."""
    real_now = timezone.now
    offset = moment - real_now()
    with mock.patch("django.utils.timezone.now", lambda: real_now() + offset):
        yield


def _is_quickstart_database() -> bool:
    """Is the connection the embedded SQLite file `make run` creates?"""
    if connection.vendor != "sqlite":
        return False
    name = connection.settings_dict.get("NAME")
    return bool(name) and Path(str(name)).resolve() == Path(settings.QUICKSTART_DATABASE).resolve()


class Command(BaseCommand):
    help = "Load a clearly labelled demo history (DEMO- tickets by user 'demo'). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Also run on a database other than the quickstart's (it adds demo rows and "
            "a demo policy to it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["force"] and not _is_quickstart_database():
            name = connection.settings_dict.get("NAME")
            raise CommandError(
                f"Refusing to load demo data into the {connection.vendor} database {name}: it "
                f"is meant for the quickstart's own ({settings.QUICKSTART_DATABASE}). Pass "
                "--force if you really want it."
            )
        if Ticket.objects.filter(ticket_id__startswith=DEMO_PREFIX).exists():
            self.stdout.write("Demo history already present; nothing to do.")
            return

        user_model = get_user_model()
        demo, _ = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"email": "demo@example.invalid"}
        )
        # Feedback teaches only from a trusted person who did not submit the ticket.
        reviewer, _ = user_model.objects.get_or_create(
            username=DEMO_REVIEWER, defaults={"email": "demo-reviewer@example.invalid"}
        )
        reviewer.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["feedback", "remediation"],
                codename__in=["teach", "view_ticket"],
            )
        )
        for account in (demo, reviewer):
            if account.has_usable_password():
                account.set_unusable_password()
                account.save(update_fields=["password"])
        try:
            with McpSession(lab_spec()) as lab:
                number = self._history(lab, demo, user_model)
        except ConnectorError as exc:
            raise CommandError(f"the lab's control server: {exc}") from None
        lab_tickets = self._lab_executions(demo, number)
        self._summary(number + len(lab_tickets))
        for ticket in lab_tickets:
            self.stdout.write(f"  {ticket.ticket_id} on the simulated lab: {ticket.status}")

    def _history(self, lab: McpSession, demo: Any, user_model: Any) -> int:
        # Each kind's tickets spread evenly over the past HISTORY_DAYS, the kinds interleaved;
        # written in date order, so every audit stream (a ticket's, a pattern's) reads forward.
        start = timezone.now() - timedelta(days=HISTORY_DAYS)
        past = sorted(
            (
                start
                + timedelta(days=HISTORY_DAYS * (index + 0.5 * kind / len(HISTORY)) / len(hosts)),
                kind,
                index,
            )
            for kind, (_, _, _, hosts, _, _) in enumerate(HISTORY)
            for index in range(len(hosts))
        )
        number = 0
        for when, kind, index in past:
            category, title, description, hosts, executed, feedbacks = HISTORY[kind]
            number += 1
            with _clock_at(when):
                self._past_ticket(
                    lab,
                    demo,
                    user_model,
                    number,
                    (category, title, description, hosts[index]),
                    executed=executed,
                    given=feedbacks[index] if index < len(feedbacks) else None,
                )
        for category, title, description, host in WAITING:
            number += 1
            # The lab shows the VM hung, so approving the request fixes something real.
            lab.call("set_condition", {"target": host, "condition": "vm_hung"})
            self._ticket(demo, number, category, title, description, host, auto=True)
        return number

    def _past_ticket(
        self,
        lab: McpSession,
        demo: Any,
        user_model: Any,
        number: int,
        text: tuple[str, str, str, str],
        *,
        executed: bool,
        given: dict[str, Any] | None,
    ) -> None:
        category, title, description, host = text
        staged = STAGED.get(category)
        if staged is not None:
            condition, interface = staged
            lab.call(
                "set_condition", {"target": host, "condition": condition, "interface": interface}
            )
        ticket = self._ticket(demo, number, category, title, description, host)
        if staged is not None:
            lab.call("set_condition", {"target": host, "interface": staged[1]})
        if executed:
            worked = given is None or given["feedback_type"] != "negative"
            self._mark_executed(ticket, demo, worked=worked)
        if given is not None:
            reviewer = user_model.objects.get(username=DEMO_REVIEWER)
            feedback_submit(ticket=ticket, user=reviewer, data=FeedbackInput(**given))

    def _lab_executions(self, demo: Any, number: int) -> list[Ticket]:
        """Two tickets of the now-eligible server pattern, executed for real on the simulated
        lab through the execution service: one resolved, one whose post-check fails (staged
        through the lab's control server) and is rolled back."""
        AutoRemediationPolicy.objects.get_or_create(
            category="server",
            defaults={
                "name": "server-demo-auto-remediation",
                "min_confidence_score": 0.7,
                "min_reliability_score": 75.0,
                "min_similar_tickets": 3,
                "allowed_action_types": ["safe_write"],
                # A graceful VM restart is a VMware Tools *shutdown*: not forbidden here.
                "forbidden_commands": ["format", "wipe", "destroy", "delete"],
                "auto_approve_threshold": 85.0,
                "requires_approval": True,
            },
        )
        category, title, description, _, _, _ = HISTORY[0]
        with McpSession(lab_spec()) as lab:
            lab.call("set_condition", {"target": "prod-web-01", "condition": "vm_hung"})
            lab.call("set_condition", {"target": "prod-web-02", "condition": "vm_hung"})
            lab.call("inject_fault", {"kind": "postcheck_fail", "target": "prod-web-02"})
        tickets = []
        for offset, host in enumerate(("prod-web-01", "prod-web-02"), start=1):
            ticket = ticket_create(
                TicketInput(
                    ticket_id=f"{DEMO_PREFIX}{number + offset:04d}",
                    title=title.format(h=host),
                    description=description.format(h=host),
                    category=category,
                    affected_system=host,
                    source=DEMO_SOURCE,
                    enable_auto_remediation=True,
                ),
                acting_user=demo,
            ).ticket
            ticket_analyze(ticket.pk)
            # The queued execution task, run here so the history is complete on return (the
            # worker's copy finds it claimed and skips it).
            run_execution(ticket.pk)
            ticket.refresh_from_db()
            tickets.append(ticket)
        return tickets

    def _ticket(
        self,
        demo: Any,
        number: int,
        category: str,
        title: str,
        description: str,
        host: str,
        *,
        auto: bool = False,
    ) -> Ticket:
        ticket = ticket_create(
            TicketInput(
                ticket_id=f"{DEMO_PREFIX}{number:04d}",
                title=title.format(h=host),
                description=description.format(h=host),
                category=category,
                affected_system=host,
                source=DEMO_SOURCE,
                enable_auto_remediation=auto,
            ),
            acting_user=demo,
        ).ticket
        # Analyzed here rather than by the queue, so the history is complete when this
        # returns; the queued copy of the task finds the ticket analyzed and skips it.
        ticket_analyze(ticket.pk)
        ticket.refresh_from_db()
        return ticket

    def _mark_executed(self, ticket: Ticket, demo: Any, *, worked: bool) -> None:
        """The states an approved execution goes through and its measured result
        (execution itself is not part of demo data: nothing reaches a system)."""
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            ticket_transition(
                locked,
                TicketStatus.REMEDIATING,
                executed=True,
                reason="Demo history: executed after approval by demo",
                acting_user=demo,
            )
            if worked:
                # History from weeks ago: its hold time is long over and nothing came back.
                locked.fix_held_at = timezone.now()
                ticket_transition(
                    locked,
                    TicketStatus.RESOLVED,
                    outcome=TicketOutcome.SUCCESS,
                    reason="Demo history: post-checks passed",
                    extra_fields=["fix_held_at"],
                )
            else:
                ticket_transition(
                    locked,
                    TicketStatus.PARTIALLY_REMEDIATED,
                    outcome=TicketOutcome.FAILURE,
                    reason="Demo history: a post-check failed; rolled back",
                )
        ticket.refresh_from_db()

    def _summary(self, created: int) -> None:
        levels = Counter(
            (t.reliability_breakdown or {}).get("confidence_level", "unscored")
            for t in Ticket.objects.filter(ticket_id__startswith=DEMO_PREFIX)
        )
        patterns = Pattern.objects.filter(tickets__ticket_id__startswith=DEMO_PREFIX).distinct()
        eligible = sum(p.eligible_for_auto_remediation for p in patterns)
        waiting = Ticket.objects.filter(
            ticket_id__startswith=DEMO_PREFIX, status=TicketStatus.AWAITING_APPROVAL
        ).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created} demo tickets (DEMO-*, source 'demo', user 'demo'): "
                f"{patterns.count()} patterns, {eligible} eligible for auto-remediation; "
                "reliability levels: "
                + ", ".join(f"{level} {count}" for level, count in sorted(levels.items()))
                + f"; {waiting} waiting for approval at /approvals/"
            )
        )
