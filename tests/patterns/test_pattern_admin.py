"""The pattern admin: statistics read-only, enabled switched by an audited action."""

from __future__ import annotations

import pytest
from django.test import Client

from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from tests.support.factories import PatternFactory, UserFactory


@pytest.fixture
def admin_client(db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_an_admin_disables_a_pattern_and_the_audit_trail_says_so(admin_client):
    pattern = PatternFactory()
    response = admin_client.post(
        "/admin/patterns/pattern/",
        {"action": "disable_patterns", "_selected_action": [pattern.pk]},
    )
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert not pattern.enabled
    event = AuditEvent.objects.get(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    assert event.pattern == pattern
    assert event.actor_label == "root"
    assert event.details["enabled"] is False


@pytest.mark.django_db
def test_the_statistics_cannot_be_edited_in_the_admin(admin_client):
    pattern = PatternFactory(occurrence_count=3)
    url = f"/admin/patterns/pattern/{pattern.pk}/change/"
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"occurrence_count": 999, "enabled": ""})
    assert Pattern.objects.get(pk=pattern.pk).occurrence_count == 3
    assert admin_client.get("/admin/patterns/pattern/add/").status_code == 403
