from __future__ import annotations

import pytest

from remediation.approvals.models import SlackUserLink
from tests.support.approvals import approver
from tests.support.slack import BOT_TOKEN, CHANNEL, SECRET, TEAM, FakeSlack


@pytest.fixture
def slack_api(settings):
    """The Slack app configured against a local fake of Slack's Web API (every call kept)."""
    fake = FakeSlack()
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_BOT_TOKEN = BOT_TOKEN
    settings.SLACK_APPROVAL_CHANNEL = CHANNEL
    settings.SLACK_API_URL = fake.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def carol(db):
    """An approver linked to the Slack user U0CAROL01."""
    carol = approver("carol", email="carol@example.com")
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id="U0CAROL01", user=carol)
    return carol
