"""A local fake of Slack's Web API, and requests signed as Slack signs them.

``FakeSlack`` is an HTTP server answering ``chat.postMessage`` and ``chat.update`` as Slack
answers them (``{"ok": true, "channel": ..., "ts": ...}``; each posted message its own
``ts``), keeping every call (method, authorization, JSON body). ``refuse`` makes a method
answer Slack's ``{"ok": false, "error": ...}``.

``signed`` signs a raw body as Slack does: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``
with the signing secret; ``command_body`` and ``interaction_body`` build the two bodies
Slack sends (a slash command's form, an interaction's ``payload=`` JSON).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlencode

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the shape of a Slack signing secret
BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0APPROVALS"
TEAM = "T0TEAM001"
INTERACTIONS_URL = "/integrations/slack/interactions"
COMMANDS_URL = "/integrations/slack/commands"


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refusals: dict[str, str] = {}  # method -> Slack's error code
        self._ts = itertools.count(100)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw) if raw.startswith(b"{") else {}
                method = self.path.rsplit("/", 1)[-1]
                fake.calls.append(
                    {
                        "path": self.path,
                        "method": method,
                        "auth": self.headers.get("Authorization"),
                        **body,
                    }
                )
                answer = fake.answer(method, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method in self.refusals:
            return {"ok": False, "error": self.refusals[method]}
        if method == "chat.postMessage":
            ts = f"1765000000.{next(self._ts):06d}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": body}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        return {"ok": False, "error": "unknown_method"}

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == method]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed(body: bytes | str, *, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    """The two headers of a request Slack signed ``age`` seconds ago (Django client kwargs)."""
    raw = body.encode() if isinstance(body, str) else body
    timestamp = str(int(time.time()) - age)
    base = f"v0:{timestamp}:".encode() + raw
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp, "HTTP_X_SLACK_SIGNATURE": signature}


def command_body(text: str, *, user: str = "U0CAROL01", team: str = TEAM, **more: str) -> str:
    """A slash command's form body as Slack sends it."""
    fields = {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "example",
        "channel_id": CHANNEL,
        "channel_name": "approvals",
        "user_id": user,
        "user_name": "someone",
        "command": "/remediation",
        "text": text,
        "api_app_id": "A0APP0001",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0TEAM001/1/abc",
        "trigger_id": "1234.5678.abcdef",
        **more,
    }
    return urlencode(fields)


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def post_signed(client: Any, url: str, body: str | bytes, **sign: Any) -> Any:
    return client.generic(
        "POST",
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        **signed(body, **sign),
    )
