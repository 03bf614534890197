"""manage.py seed_demo: a labelled demo history, so a first look at the system shows learning.

Everything is marked as demo: ticket ids start with ``DEMO-``, tickets have source
``demo`` and the submitter is the user ``demo``. It relies on the runbooks shipped by the
migrations, as real tickets do.
It is built through the same services as real traffic (intake, analysis, decision, feedback,
outcomes), so every statistic, score and audit line is what the system itself computed.

Lives in the feedback app because it submits feedback, which ``remediation`` may not import.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from feedback.services import FeedbackInput, feedback_submit
from patterns.models import Pattern
from remediation.audit import audit
from remediation.models import AuditAction, Ticket, TicketStatus
from remediation.services import TicketInput, ticket_analyze, ticket_create

DEMO_USER = "demo"
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
        "CRC errors rising on interface Gi0/1 of {h}.",
        [f"core-sw-{n:02d}" for n in range(1, 7)],
        True,
        [POSITIVE, NEGATIVE, POSITIVE, NEUTRAL, NEGATIVE, POSITIVE],
    ),
    # Young pattern: good so far, too few occurrences.
    (
        "storage",
        "Volume full on {h}",
        "Disk full: disk usage at 99% on volume {h}, low disk space. Expand to 2 TB.",
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


# Waiting at the end of the history, for a first look at the approval queue (/approvals/):
# tickets that opted in to auto-remediation in a category with no policy, so a person must
# approve them. (category, title, description, host)
WAITING: list[tuple[str, str, str, str]] = [
    (
        "server",
        "Web service not responding on {h}",
        "VM {h} hung: web service not responding, server not responding, vm unresponsive.",
        "prod-web-01",
    ),
    (
        "server",
        "Web service not responding on {h}",
        "VM {h} hung after the nightly deploy: web service not responding.",
        "prod-web-02",
    ),
]


class Command(BaseCommand):
    help = "Load a clearly labelled demo history (DEMO- tickets by user 'demo'). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Also run on a database other than SQLite (it adds demo rows to it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite" and not options["force"]:
            raise CommandError(
                f"Refusing to load demo data into a {connection.vendor} database: it is meant "
                "for the embedded SQLite quickstart. Pass --force if you really want it."
            )
        if Ticket.objects.filter(ticket_id__startswith=DEMO_PREFIX).exists():
            self.stdout.write("Demo history already present; nothing to do.")
            return

        user_model = get_user_model()
        demo, _ = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"email": "demo@example.invalid"}
        )
        if demo.has_usable_password():
            demo.set_unusable_password()
            demo.save(update_fields=["password"])
        number = 0
        for category, title, description, hosts, executed, feedbacks in HISTORY:
            for index, host in enumerate(hosts):
                number += 1
                ticket = self._ticket(demo, number, category, title, description, host)
                if executed:
                    self._mark_executed(ticket, demo)
                if index < len(feedbacks):
                    feedback_submit(
                        ticket=ticket, user=demo, data=FeedbackInput(**feedbacks[index])
                    )
        for category, title, description, host in WAITING:
            number += 1
            self._ticket(demo, number, category, title, description, host, auto=True)
        self._summary(number)

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
        )
        # Analyzed here rather than by the queue, so the history is complete when this
        # returns; the queued copy of the task finds the ticket analyzed and skips it.
        ticket_analyze(ticket.pk)
        ticket.refresh_from_db()
        return ticket

    def _mark_executed(self, ticket: Ticket, demo: Any) -> None:
        """The state an approved execution leaves (execution itself is not part of demo
        data: nothing reaches a system)."""
        with transaction.atomic():
            Ticket.objects.filter(pk=ticket.pk).update(
                auto_remediation_executed=True,
                status=TicketStatus.RESOLVED,
                resolved_at=timezone.now(),
                status_reason="Demo history: executed after approval.",
            )
            audit(
                AuditAction.STATUS_CHANGED,
                "Demo history: actions executed after approval by demo",
                ticket=ticket,
                acting_user=demo,
                details={"status": TicketStatus.RESOLVED, "demo": True},
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
