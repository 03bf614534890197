"""A real OpenID provider for the sign-in tests: npm's ``oidc-provider``, pinned in
requirements/oidc-provider/ and installed unmodified by ``make oidc-provider`` into
var/oidc-provider/, run by node with tests/support/oidc_provider.mjs as its configuration.

Its accounts are a JSON file the provider reads at every look-up: ``OidcProvider.account``
changes someone's groups between two sign-ins, as an administrator of the provider would.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.dbutil import ROOT, stop, wait_for
from tests.support.servers import free_port

PROVIDER_DIR = ROOT / "var" / "oidc-provider"
PROVIDER_SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
CLIENT_ID = "auto-remediation"


def installed_provider() -> Path:
    """The Makefile's install of the pinned provider (made here when missing); skips, saying
    why, only where node or npm is absent."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(
            "node and npm are needed to run the OpenID provider (apt-get install nodejs npm)"
        )
    if not (PROVIDER_DIR / ".installed").exists():
        made = subprocess.run(
            ["make", "oidc-provider"], cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        assert made.returncode == 0, (
            "`make oidc-provider` could not install requirements/oidc-provider:\n"
            f"{made.stdout[-3000:]}\n{made.stderr[-3000:]}"
        )
    return PROVIDER_DIR


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    accounts_file: Path
    proc: subprocess.Popen
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def account(self, login: str, *, groups: list[str], email: str = "") -> None:
        """Add or change an account at the provider (effective at its next answer)."""
        self.accounts[login] = {"groups": groups, "email": email or f"{login}@example.test"}
        tmp = self.accounts_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.accounts))
        tmp.replace(self.accounts_file)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The settings that point this system at the provider."""
        return {
            "OIDC_ENABLED": True,
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_PROVIDER_NAME": "Example SSO",
            "OIDC_SCOPES": "openid email profile groups",
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_GROUP_MAP": {"sre-approvers": ("Approvers",), "sre-oncall": ("Operators",)},
            **extra,
        }


def start_provider(tmp_path: Path, redirect_uris: list[str]) -> OidcProvider:
    directory = installed_provider()
    port = free_port()
    accounts_file = tmp_path / "oidc-accounts.json"
    accounts_file.write_text("{}")
    secret = secrets.token_urlsafe(32)
    log = tmp_path / "oidc-provider.log"
    proc = subprocess.Popen(
        ["node", str(PROVIDER_SCRIPT)],
        cwd=ROOT,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "OIDC_PROVIDER_DIR": str(directory),
            "OIDC_TEST_PORT": str(port),
            "OIDC_TEST_CLIENT_ID": CLIENT_ID,
            "OIDC_TEST_CLIENT_SECRET": secret,
            "OIDC_TEST_REDIRECT_URIS": " ".join(redirect_uris),
            "OIDC_TEST_ACCOUNTS": str(accounts_file),
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    issuer = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            return True
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
                return True
        except OSError:
            return False

    wait_for(ready, timeout=60)
    if proc.poll() is not None:
        raise AssertionError(f"oidc-provider exited:\n{log.read_text(errors='replace')[-3000:]}")
    return OidcProvider(issuer, CLIENT_ID, secret, accounts_file, proc)


def stop_provider(provider: OidcProvider) -> None:
    stop(provider.proc)
