"""manage.py create_token USERNAME --name NAME [--days N] [--create-user]: a new API token,
printed once. ``--create-user`` first creates USERNAME as a service account (no password,
not staff, no groups: it may submit tickets and alerts and read its own), as Alertmanager
needs one.

The key is the only thing on standard output (``TOKEN=$(manage.py create_token ...)``);
what it is and when it expires go to standard error. The database keeps only its digest
and prefix: a key not copied now is lost (revoke the token in the admin, make another).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from remediation.accounts.services import MAX_DAYS, api_token_create, service_account_create


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
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="create USERNAME first, as a service account (no password, no groups)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        with transaction.atomic():  # a service account is not left behind without its token
            key, note = self._create(username, options)
        self.stderr.write(note)
        self.stdout.write(key)

    def _create(self, username: str, options: dict[str, Any]) -> tuple[str, str]:
        user = get_user_model().objects.filter(username=username).first()
        if options["create_user"]:
            # Refused when the user exists: a person's account is never taken for a service's.
            try:
                user = service_account_create(username=username)
            except ValidationError as exc:
                raise CommandError(f"User not created: {_reasons(exc)}") from None
            self.stderr.write(f"Creating the service account {username!r} (no password).")
        elif user is None:
            raise CommandError(
                f"No user {username!r}: add --create-user to create it as a service account, "
                "or create it in the admin."
            )
        try:
            token, key = api_token_create(user=user, name=options["name"], days=options["days"])
        except ValidationError as exc:
            raise CommandError(f"Token not created: {_reasons(exc)}") from None
        expires = f"expires {token.expiry:%Y-%m-%d %H:%M} UTC" if token.expiry else "never expires"
        return key, (
            f"API token {token.name!r} for {username} (prefix {token.token_key}…, {expires}). "
            "Copy the key now: it is stored hashed and cannot be shown again."
        )


def _reasons(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
