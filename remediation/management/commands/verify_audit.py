"""manage.py verify_audit: re-compute the audit trail's hash chains and name every break."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from remediation.audit.models import AuditEvent
from remediation.audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chains: reports each edited, deleted, inserted or "
        "reordered row and exits with status 1 when any is found."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = list(verify_chain())
        total = AuditEvent.objects.count()
        for problem in problems:
            self.stdout.write(self.style.ERROR(str(problem)))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in {total} audit rows")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {total} rows verified"))
