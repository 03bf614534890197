"""Fixtures shared by every test folder.

Background tasks are not faked: the API enqueues them on the real django-q2 ORM broker, and
``drain_queue`` hands each queued task to django-q2's own worker code, exactly as a
``qcluster`` worker would (the e2e tests run a real ``qcluster`` process).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.db import connection
from rest_framework.test import APIClient

from feedback.replay.worker import drain
from remediation.accounts.models import ApiToken
from remediation.analysis.models import Runbook, RunbookSource
from remediation.connectors.mcp_connector import close_pooled_sessions
from tests.support.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob", email="bob@example.com")


def make_teacher(u):
    """Give ``u`` what the Operators group holds: trusted feedback, and seeing tickets."""
    for app_label, codename in (
        ("feedback", "teach"),
        ("remediation", "view_ticket"),
        ("patterns", "view_pattern_stats"),
    ):
        u.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return u


@pytest.fixture
def teacher(db):
    """A trusted person (an operator) who did not submit the tickets under test."""
    return make_teacher(UserFactory(username="tess", email="tess@example.com"))


@pytest.fixture
def teacher_api(teacher) -> APIClient:
    return _client_for(teacher)


def _client_for(u) -> APIClient:
    _, key = ApiToken.objects.create(user=u, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(user) -> APIClient:
    """An API client authenticated as ``user`` with an API token."""
    return _client_for(user)


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    return _client_for


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def drain_queue(db) -> Callable[[], int]:
    """Run every task waiting on the ORM broker; returns how many ran."""
    return drain


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# Data migrations that seed reference data. A transactional test (transaction=True) ends
# with a flush that empties every table, so tests that need this data after one ask for it.
SEED_MIGRATIONS = [
    ("remediation.migrations.0002_seed_runbooks", "seed"),
    ("remediation.migrations.0010_runbook_causes_ticket_diagnosis", "seed_causes"),
    ("policies.migrations.0002_default_policies", "create_defaults"),
    ("remediation.migrations.0008_seed_alert_mappings", "seed"),
    ("remediation.migrations.0012_lab_connectors_and_sweep", "create"),
    ("remediation.migrations.0015_approvers_group_and_expiry_schedule", "seed"),
    ("remediation.migrations.0021_connector_investigation_tools", "fill"),
    ("remediation.migrations.0023_runbooks_fix_observed_causes", "add"),
    ("remediation.migrations.0029_lab_volume_relations", "relate"),
    ("remediation.migrations.0036_evidence_connector_profiles", "seed"),
]


@pytest.fixture
def seeded(db) -> None:
    """Re-apply the (idempotent) seeding functions of the data migrations."""
    for module, function in SEED_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> None:
    # The intake throttle counts per user id in a per-process cache; ids repeat across tests.
    caches["throttle"].clear()


@pytest.fixture(autouse=True)
def _own_lab_state(settings, tmp_path) -> None:
    # Every test gets its own lab state file: no test touches var/ or sees another's lab.
    settings.LAB_STATE_PATH = tmp_path / "lab-state.sqlite3"
    settings.MCP_STDERR_LOG = tmp_path / "mcp-servers.log"


@pytest.fixture(autouse=True)
def _no_investigation_unless_asked(settings):
    """Tests look at the analysis, the decision or the execution; the investigation step is
    switched on by the ``investigating`` fixture in those that are about it (or need a cause
    observed to run unattended). Pooled MCP sessions are closed after every test: each test
    has its own lab state file, so its own lab process."""
    settings.INVESTIGATION_ENABLED = False
    yield
    close_pooled_sessions()


@pytest.fixture
def investigating(settings) -> None:
    settings.INVESTIGATION_ENABLED = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness costs ~0.3 s per user created; tests only need hashing to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def restart_runbook(db) -> Runbook:
    """A runbook the local analyzer matches confidently for "service down" tickets."""
    return Runbook.objects.create(
        name="Restart a VM whose service is down",
        operation="restart_vm",
        category="server",
        symptoms="service down\nnot responding",
        resolution="Restart the VM; the service comes back with it.",
        source=RunbookSource.ADMIN,
    )
