"""manage.py create_token USERNAME --name NAME [--days N]: a new API token, printed once.

The key is the only thing on standard output (``TOKEN=$(manage.py create_token ...)``);
what it is and when it expires go to standard error. The database keeps only its digest
and prefix: a key not copied now is lost (revoke the token in the admin, make another).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.accounts.services import MAX_DAYS, api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print its key (shown once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", required=True, help="what the token is for, e.g. alertmanager"
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"days until it expires, 0 to {MAX_DAYS} (0: never; default API_TOKEN_TTL_DAYS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}: create it first (e.g. in the admin).")
        try:
            token, key = api_token_create(user=user, name=options["name"], days=options["days"])
        except ValidationError as exc:
            reasons = "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
            raise CommandError(f"Token not created: {reasons}") from None
        expires = f"expires {token.expiry:%Y-%m-%d %H:%M} UTC" if token.expiry else "never expires"
        self.stderr.write(
            f"API token {token.name!r} for {username} (prefix {token.token_key}…, {expires}). "
            "Copy the key now: it is stored hashed and cannot be shown again."
        )
        self.stdout.write(key)
