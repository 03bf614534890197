"""manage.py reconcile_execution KEY: settle an execution whose outcome is unknown.

Without --worked/--failed it only looks (read-only tools: target state and post-checks).
With one of them a person records the verdict; the ticket ends resolved or failed.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import Conflict, Forbidden
from remediation.execution.models import Execution
from remediation.execution.services import execution_observe, execution_reconcile


class Command(BaseCommand):
    help = "Look at (and optionally settle) an execution whose outcome is unknown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="the execution's key, e.g. INC-1:1")
        verdict = parser.add_mutually_exclusive_group()
        verdict.add_argument("--worked", action="store_true")
        verdict.add_argument("--failed", action="store_true")
        parser.add_argument(
            "--user",
            help="who decides (a username); needed with a verdict. Must hold feedback.teach "
            "(the Operators group), not have submitted the ticket, and be in the team that "
            "owns it when one does",
        )
        parser.add_argument("--note", default="checked the target")

    def handle(self, *args: Any, **options: Any) -> None:
        execution = Execution.objects.filter(key=options["key"]).first()
        if execution is None:
            raise CommandError(f"No execution {options['key']!r}")
        observed = execution_observe(execution)
        self.stdout.write(json.dumps(observed, indent=2, default=str))
        if not (options["worked"] or options["failed"]):
            return
        user = get_user_model().objects.filter(username=options["user"] or "").first()
        if user is None:
            raise CommandError("--user must name an existing user")
        try:
            execution_reconcile(
                execution, worked=options["worked"], acting_user=user, note=options["note"]
            )
        except (Conflict, Forbidden) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{execution.key} reconciled"))
