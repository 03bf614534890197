"""The shipped reference data: what the data migrations write into a new database is what
``remediation.seeds`` and ``policies.seeds`` describe (the ``seeded`` fixture and the tests
that read the shipped runbooks rely on it), and seeding is idempotent.

The migrations keep their own frozen copies, so this is where the two meet: a change to the
shipped data needs a migration that brings existing databases there, and the seeds module
changed with it. transaction=True: migrations cannot run inside a test's transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django_q.models import Schedule

from policies.models import AutoRemediationPolicy
from policies.seeds import DEFAULT_POLICIES, default_policies_seed
from remediation.alerts.models import AlertMapping
from remediation.analysis.models import Runbook, RunbookSource
from remediation.connectors.models import PlatformConnector
from remediation.seeds import (
    ALERT_MAPPINGS,
    GROUPS,
    LAB_PLATFORMS,
    RUNBOOKS,
    SCHEDULES,
    reference_data_seed,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Before the first data migration of each app that ships reference data.
BEFORE_THE_DATA = [("remediation", "0001_initial"), ("policies", "0001_initial")]


def _rows(queryset: models.QuerySet[Any], order: str) -> list[dict[str, Any]]:
    """Every column but the id and the timestamps a row gets when it is written."""
    fields = [
        f.attname
        for f in queryset.model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    ]  # fmt: skip
    return list(queryset.order_by(order).values(*fields))


def reference_rows() -> dict[str, Any]:
    return {
        "runbooks": _rows(Runbook.objects.filter(source=RunbookSource.SEED), "name"),
        "alert_mappings": _rows(AlertMapping.objects.all(), "name"),
        "connectors": _rows(PlatformConnector.objects.all(), "platform"),
        "groups": {
            g.name: sorted(g.permissions.values_list("content_type__app_label", "codename"))
            for g in Group.objects.all()
        },
        "schedules": sorted(
            Schedule.objects.values_list("name", "func", "schedule_type", "minutes", "repeats")
        ),
        "policies": _rows(AutoRemediationPolicy.objects.all(), "category"),
    }


def migrate_from_before_the_data() -> None:
    call_command("flush", interactive=False, verbosity=0)
    MigrationExecutor(connection).migrate(BEFORE_THE_DATA)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_freshly_migrated_database_holds_exactly_what_the_seeds_describe():
    migrate_from_before_the_data()
    migrated = reference_rows()
    call_command("flush", interactive=False, verbosity=0)
    assert not Runbook.objects.exists()

    reference_data_seed()
    default_policies_seed()
    reference_data_seed()  # again: nothing changes, nothing doubles
    default_policies_seed()

    assert reference_rows() == migrated
    # And the seeds describe every row, not just the same ones twice.
    assert [r["name"] for r in migrated["runbooks"]] == sorted(r["name"] for r in RUNBOOKS)
    assert len(migrated["alert_mappings"]) == len(ALERT_MAPPINGS)
    assert [c["platform"] for c in migrated["connectors"]] == sorted([*LAB_PLATFORMS, "prometheus"])
    assert set(migrated["groups"]) == set(GROUPS)
    assert len(migrated["schedules"]) == len(SCHEDULES)
    assert len(migrated["policies"]) == len(DEFAULT_POLICIES)


def test_seeding_leaves_an_admins_edits_alone(seeded):
    Runbook.objects.filter(name=RUNBOOKS[0]["name"]).update(resolution="Our own way.")
    AutoRemediationPolicy.objects.filter(category="cache").update(min_reliability_score=99.0)

    reference_data_seed()
    default_policies_seed()

    assert Runbook.objects.get(name=RUNBOOKS[0]["name"]).resolution == "Our own way."
    assert AutoRemediationPolicy.objects.get(category="cache").min_reliability_score == 99.0
