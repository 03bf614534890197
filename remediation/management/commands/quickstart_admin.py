"""Create (once) the quickstart administrator and print how to log in and call the API."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from remediation.accounts.selectors import api_token_for_key
from remediation.accounts.services import api_token_create

USERNAME = "admin"
TOKEN_NAME = "quickstart"  # noqa: S105 (what the token is for, no secret)


class Command(BaseCommand):
    help = "Create the quickstart superuser 'admin' with an API token and print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        credentials_file = Path(settings.VAR_DIR) / "quickstart-credentials.json"
        user_model = get_user_model()
        user = user_model.objects.filter(username=USERNAME).first()
        if user is None or not credentials_file.exists():
            password = secrets.token_urlsafe(12)
            if user is None:
                user = user_model.objects.create_superuser(
                    USERNAME, email="admin@example.com", password=password
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            credentials_file.parent.mkdir(exist_ok=True)
            credentials_file.write_text(json.dumps({"username": USERNAME, "password": password}))
            credentials_file.chmod(0o600)
        credentials = json.loads(credentials_file.read_text())
        password = credentials["password"]
        # The database keeps only the token's digest: its key is kept in the credentials
        # file beside the password, and a new token is made when that one no longer works.
        key = credentials.get("api_token", "")
        token = api_token_for_key(key) if key else None
        if token is None or token.is_expired() or token.user_id != user.pk:
            key = api_token_create(user=user, name=TOKEN_NAME)[1]
            credentials["api_token"] = key
            credentials_file.write_text(json.dumps(credentials))
            credentials_file.chmod(0o600)
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            self.style.SUCCESS("\nAuto-Remediation System is starting.\n")
            + f"  Approval queue (demo requests wait): {base}/approvals/\n"
            + f"  Admin (policies, runbooks, patterns): {base}/admin/\n"
            + f"  API docs (Swagger UI):                {base}/api/docs/\n"
            + f"  Log in as: {USERNAME} / {password}   (kept in {credentials_file})\n"
            + f"  API token: {key}\n"
            + f"  Try: curl -H 'Authorization: Token {key}' {base}/api/v1/tickets\n"
        )
