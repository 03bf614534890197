"""The approval message in Slack follows the ticket: updated in place (``chat.update`` on the
stored channel and ``ts``) when it is decided anywhere (the page, the API, the admin, a Slack
button, the expiry sweep), then with what ran and how it ended, each event a line in its
thread; the buttons go when they no longer apply. Nothing is sent inside the request: the
worker delivers, once per event, against a local fake of Slack's Web API that keeps every
call."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from remediation.approvals.models import ApprovalRequest
from remediation.approvals.services import approval_expire_due
from remediation.catalogue.rules.digest import actions_digest
from remediation.execution.models import ExecutionState
from remediation.notifications.models import SlackMessage, SlackUpdate
from remediation.notifications.services import slack_update_later
from remediation.tasks import confirm_fix, update_slack
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import approver, awaiting_ticket
from tests.support.execution import LAB_CATEGORY, action, lab_policy, stage
from tests.support.factories import UserFactory
from tests.support.slack import CHANNEL, INTERACTIONS_URL, TEAM, interaction_body, post_signed

pytestmark = pytest.mark.django_db


def section(call) -> str:
    return call["blocks"][0]["text"]["text"]


def buttons(call) -> set[str]:
    return {e["action_id"] for b in call["blocks"] if b["type"] == "actions" for e in b["elements"]}


def thread(slack_api, ts: str) -> list[str]:
    return [c["text"] for c in slack_api.of("chat.postMessage") if c.get("thread_ts") == ts]


def posted_message(slack_api):
    [post] = [c for c in slack_api.of("chat.postMessage") if "thread_ts" not in c]
    message = SlackMessage.objects.get()
    assert (message.channel, message.ts) == (CHANNEL, "1765000000.000100")
    return post, message


def last_update(slack_api, message):
    updates = slack_api.of("chat.update")
    assert updates, "the message was never updated"
    assert all((u["channel"], u["ts"]) == (message.channel, message.ts) for u in updates)
    return updates[-1]


@pytest.fixture
def waiting(lab, user, drain_queue, slack_api):
    """A ticket waiting for approval whose message is out in Slack."""
    ticket = awaiting_ticket(user, title="Web service down on prod-web-01")
    drain_queue()
    post, _ = posted_message(slack_api)
    assert buttons(post) == {"approve", "reject", "open"}
    return ticket


def test_an_approval_on_the_web_page_updates_the_message_after_commit(
    waiting, carol, client, drain_queue, slack_api
):
    client.force_login(carol)
    r = client.post(
        f"/approvals/requests/{waiting.ticket_id}/",
        {
            "decision": "approve",
            "comment": "ok",
            "actions_digest": actions_digest(waiting.suggested_actions),
        },
    )
    assert r.status_code in (200, 302)
    # Nothing reached Slack inside the request: the update is owed, the worker sends it.
    assert slack_api.of("chat.update") == []
    assert SlackUpdate.objects.filter(ticket=waiting, sent_at=None).exists()

    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    assert buttons(update) == {"open"}  # approve and reject no longer apply
    text = section(update)
    assert re.search(r"Approved by carol \(Approval page\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert f"Execution {waiting.ticket_id}:1 " in text
    assert update["text"].startswith(f"{waiting.ticket_id} approved")
    lines = thread(slack_api, message.ts)
    assert lines[0].startswith("Approved by carol (Approval page)") and "(1 of 1)" in lines[0]
    assert lines[1].startswith(f"Remediating: Execution {waiting.ticket_id}:1 queued")
    assert not SlackUpdate.objects.filter(sent_at=None).exists()


def test_a_rejection_over_the_api_shows_who_and_why(
    waiting, carol, client_for, drain_queue, slack_api
):
    r = client_for(carol).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation",
        {"approve": False, "comment": "Not during the sale"},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert slack_api.of("chat.update") == []
    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    assert buttons(update) == {"open"}
    assert "Rejected by carol (API)" in section(update)
    assert "Not during the sale" in section(update)
    [line] = thread(slack_api, message.ts)
    assert line.startswith("Rejected by carol (API)") and line.endswith(": Not during the sale")


def test_an_admin_approval_updates_the_message(waiting, client, drain_queue, slack_api):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    request = ApprovalRequest.objects.get(ticket=waiting)
    changelist = "/admin/remediation/approvalrequest/"
    data = {"action": "approve_selected", "_selected_action": [request.pk]}
    page = client.post(changelist, data, follow=True).content.decode()
    shown = dict(re.findall(r'name="(digest_\d+)" value="([0-9a-f]{64})"', page))
    client.post(changelist, {**data, "apply": "1", "comment": "fine", **shown}, follow=True)
    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    assert buttons(update) == {"open"}
    assert "Approved by root (Admin)" in section(update)


def test_a_click_in_slack_takes_the_buttons_away(waiting, carol, client, drain_queue, slack_api):
    post, message = posted_message(slack_api)
    token = next(
        e["value"]
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "reject"
    )
    payload = {
        "type": "block_actions",
        "user": {"id": "U0CAROL01", "team_id": TEAM},
        "team": {"id": TEAM},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": CHANNEL},
        "actions": [{"action_id": "reject", "value": token, "type": "button"}],
    }
    r = post_signed(client, INTERACTIONS_URL, interaction_body(payload))
    assert r.status_code == 200, r.content
    assert slack_api.of("chat.update") == []  # the click's answer is not the update
    drain_queue()
    update = last_update(slack_api, message)
    assert buttons(update) == {"open"}
    assert "Rejected by carol (Slack)" in section(update)


def test_the_expiry_sweep_updates_the_message(waiting, drain_queue, slack_api):
    assert approval_expire_due(now=timezone.now() + timedelta(days=1)) == 1
    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    assert buttons(update) == {"open"}
    assert section(update).splitlines()[0].endswith("expired: Web service down on prod-web-01")
    [line] = thread(slack_api, message.ts)
    assert line.startswith("Expired: Nobody approved before")


def test_a_partial_approval_keeps_the_buttons(lab, user, drain_queue, slack_api, carol, client_for):
    from tests.support.approvals import policy

    policy(required_approvals=2)
    ticket = awaiting_ticket(user)
    drain_queue()
    client_for(carol).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation", {"approve": True}, format="json"
    )
    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    assert buttons(update) == {"approve", "reject", "open"}  # one more approver needed
    assert "Approved by carol (API)" in section(update)
    assert (
        thread(slack_api, message.ts) == [thread(slack_api, message.ts)[0]]
        and "(1 of 2)" in thread(slack_api, message.ts)[0]
    )


def test_a_decision_before_the_message_is_out_posts_nothing_and_owes_nothing(
    lab, user, carol, client_for, drain_queue, slack_api
):
    ticket = awaiting_ticket(user)
    client_for(carol).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": "no"},
        format="json",
    )
    drain_queue()  # the approvers' task posts only what still waits
    assert slack_api.calls == []
    assert not SlackUpdate.objects.filter(sent_at=None).exists()


def test_a_decision_while_the_message_is_on_its_way_waits_for_it(
    waiting, carol, client_for, drain_queue, slack_api
):
    """The update's task ran before the message was stored: the post delivers it."""
    message = SlackMessage.objects.get()
    SlackMessage.objects.filter(pk=message.pk).delete()  # as if the post had not come back
    client_for(carol).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation",
        {"approve": False, "comment": "no"},
        format="json",
    )
    ApprovalRequest.objects.filter(ticket=waiting).update(status="pending")
    [update] = SlackUpdate.objects.all()
    assert update_slack(update.pk) == "waiting for the approval message"
    assert SlackUpdate.objects.filter(sent_at=None).count() == 1


def test_an_update_delivered_twice_posts_its_line_once(
    waiting, carol, client_for, drain_queue, slack_api
):
    client_for(carol).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation",
        {"approve": False, "comment": "no"},
        format="json",
    )
    drain_queue()
    _, message = posted_message(slack_api)
    lines = thread(slack_api, message.ts)
    updates = len(slack_api.of("chat.update"))
    for update in SlackUpdate.objects.all():
        update_slack(update.pk)  # the broker delivered it again
    assert thread(slack_api, message.ts) == lines
    assert len(slack_api.of("chat.update")) == updates  # Slack shows this state already
    # The same event recorded again owes nothing new.
    key = SlackUpdate.objects.first().key
    assert slack_update_later(waiting, key=key, event="approval") is False


def test_a_message_slack_will_not_update_ends_the_task_quietly(
    waiting, carol, client_for, drain_queue, slack_api
):
    slack_api.refusals["chat.update"] = "message_not_found"
    client_for(carol).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation",
        {"approve": False, "comment": "no"},
        format="json",
    )
    drain_queue()  # a task that raised would fail here
    assert slack_api.of("chat.update")  # it tried, once per update
    assert not SlackUpdate.objects.filter(sent_at=None).exists()


def test_every_text_of_an_update_is_escaped(lab, user, carol, client_for, drain_queue, slack_api):
    ticket = awaiting_ticket(user, title="<!channel> disk <https://evil.example|click> & more")
    drain_queue()
    client_for(carol).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": "<!here> see <https://evil.example|this>"},
        format="json",
    )
    drain_queue()
    _, message = posted_message(slack_api)
    update = last_update(slack_api, message)
    texts = [update["text"], section(update), *thread(slack_api, message.ts)]
    for text in texts:
        assert "<!" not in text and "<https://" not in text, text
    assert "&lt;!channel&gt; disk &lt;https://evil.example|click&gt; &amp; more" in update["text"]
    assert "&lt;!here&gt; see &lt;https://evil.example|this&gt;" in section(update)


def test_without_a_message_execution_owes_slack_nothing(lab, user, slack_api):
    ticket = awaiting_ticket(user)
    # No approval message was posted (its task has not run): a status event is not owed.
    assert slack_update_later(ticket, key="status:x", event="resolved") is False
    assert not SlackUpdate.objects.filter(key="status:x").exists()


# --- what ran, and how it ended: the real lab ---------------------------------------------


@pytest.fixture
def lab_path(tmp_path, settings):
    from lab.state import LabState

    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    return path


def lab_waiting(user, *actions_):
    lab_policy(auto_approve_threshold=None, min_reliability_score=50.0, min_confidence_score=0.5)
    return awaiting_ticket(user, category=LAB_CATEGORY, suggested_actions=list(actions_))


def approve_and_run(ticket, client_for, drain_queue):
    dave = approver("dave", email="dave@example.com")
    r = client_for(dave).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation", {"approve": True}, format="json"
    )
    assert r.status_code == 200, r.content
    drain_queue()  # the updates, the execution, and the updates it owes


def test_a_success_then_a_fix_that_held(
    lab_path, seeded, user, drain_queue, slack_api, client_for, settings
):
    settings.OUTCOME_HOLD_SECONDS = 3600
    ticket = lab_waiting(user, action("restart_vm", vm="prod-web-04"))
    drain_queue()
    approve_and_run(ticket, client_for, drain_queue)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED, ticket.status_reason
    _, message = posted_message(slack_api)
    assert f"Execution {ticket.ticket_id}:1 succeeded" in section(last_update(slack_api, message))
    assert thread(slack_api, message.ts)[-1].startswith("Succeeded: Executed 1 action(s)")

    assert confirm_fix(ticket.pk) == "held"
    drain_queue()
    assert "The fix held (confirmed at" in section(last_update(slack_api, message))
    assert thread(slack_api, message.ts)[-1].startswith("The fix held: ")


def test_a_rollback_is_shown_as_such(lab_path, seeded, user, drain_queue, slack_api, client_for):
    stage(
        lab_path,
        fault={"kind": "fail", "target": "app-instance-02", "operation": "resize_instance"},
    )
    ticket = lab_waiting(
        user,
        action("scale_deployment", deployment="default/web", replicas=6),
        action("resize_instance", instance="app-instance-02", flavor="m1.large"),
    )
    drain_queue()
    approve_and_run(ticket, client_for, drain_queue)
    assert Ticket.objects.get(pk=ticket.pk).executions.get().state == ExecutionState.ROLLED_BACK
    _, message = posted_message(slack_api)
    text = section(last_update(slack_api, message))
    assert f"Execution {ticket.ticket_id}:1 failed and was rolled back" in text
    assert thread(slack_api, message.ts)[-1].startswith("Rolled back: ")


def test_a_failure_is_shown_as_such(lab_path, seeded, user, drain_queue, slack_api, client_for):
    ticket = lab_waiting(user, action("restart_vm", vm="prod-web-03"))
    # Taken into maintenance while the request waited: the restart is refused by the lab.
    stage(lab_path, fault={"kind": "maintenance", "target": "prod-web-03"})
    drain_queue()
    approve_and_run(ticket, client_for, drain_queue)
    _, message = posted_message(slack_api)
    text = section(last_update(slack_api, message))
    assert f"Execution {ticket.ticket_id}:1 " in text and " failed" in text
    assert thread(slack_api, message.ts)[-1].startswith(("Failed: ", "Manual review: "))
