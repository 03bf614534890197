"""Schemathesis against the live OpenAPI schema: every endpoint, every check, fixed seed.

New endpoints are fuzzed here without anyone remembering to add them. Each case runs as an
authenticated user (the token header) and also exercises the 4xx paths schemathesis
generates (negative data), which must be documented answers, never 500s.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings

from remediation.accounts.models import ApiToken
from tests.support.factories import TicketFactory, UserFactory

MAX_EXAMPLES = 30


# The schema /api/schema/ serves (built by the same generator; the endpoint itself needs a
# login, and no user exists while tests are collected), called through the WSGI app.
_raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
schema = schemathesis.openapi.from_dict(_raw)
schema.app = get_wsgi_application()
# A body over the configured limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is refused with a
# documented 413 before anything reads it: a rejection of negative data like the others.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db):
    # As Django's own test client does: the WSGI handler would close the connection at the
    # end of each request, and with it the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_intake_throttle(settings):
    # Every fuzzed alert counts against the intake rate, and the webhook answers an exceeded
    # rate with 503 on purpose (Alertmanager retries 5xx, drops 4xx): the throttle has its
    # own tests (tests/security/test_probe_throttle.py); here it would only read as a 5xx.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"intake": None},
    }


@pytest.fixture
def token(db) -> str:
    user = UserFactory(username="fuzzer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))
    TicketFactory(ticket_id="INC-FUZZ-1", submitted_by=user)
    return ApiToken.objects.create(user=user, name="fuzzer")[1]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # a fixed seed: the same cases on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_conforms_to_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
