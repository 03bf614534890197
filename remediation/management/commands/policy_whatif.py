"""manage.py policy_whatif: what a policy change would have done to recent decisions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.whatif import base_policy, policy_with_changes
from remediation.decisions.whatif import MAX_DAYS, policy_whatif

CATEGORY_MAX = 50


class Command(BaseCommand):
    help = (
        "Replay the stored decisions of a category's last N days through the decision "
        "engine with a changed policy and report what would have changed. Read-only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--category", required=True)
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="A policy field to change (repeatable); lists comma-separated, "
            "e.g. --set auto_approve_threshold=80 --set allowed_days=monday,tuesday",
        )
        parser.add_argument("--days", type=int, default=30, help=f"1-{MAX_DAYS}, default 30")

    def handle(self, *args: Any, **options: Any) -> None:
        category = str(options["category"]).strip().lower()
        if not category or len(category) > CATEGORY_MAX or "\x00" in category:
            raise CommandError(f"--category: give a category name of 1-{CATEGORY_MAX} characters")
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days: must be between 1 and {MAX_DAYS}, got {days}")
        changes: dict[str, str] = {}
        for item in options["set"]:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise CommandError(f"--set: expected FIELD=VALUE, got {item!r}")
            changes[name.strip()] = value
        base, exists = base_policy(category)
        try:
            changed = policy_with_changes(base, changes)
        except ValidationError as exc:
            reasons = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"--set refused: {reasons}") from None

        origin = f"policy {base.name}" if exists else "no policy yet (the model's defaults)"
        self.stdout.write(f"Category {category}, last {days} day(s), starting from {origin}")
        for name in sorted(changes):
            self.stdout.write(f"  {name}: {getattr(base, name)!r} -> {getattr(changed, name)!r}")
        report = policy_whatif(category, changed, days=days)
        for line in report.lines():
            self.stdout.write(line)
        if report.examples:
            self.stdout.write(f"Changed decisions (first {len(report.examples)}):")
            for ticket_id, then, now in report.examples:
                self.stdout.write(f"  {ticket_id}: {then} -> {now}")
        self.stdout.write(self.style.SUCCESS("Nothing was changed or executed."))
