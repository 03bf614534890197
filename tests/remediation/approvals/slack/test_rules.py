"""The Slack app's pure rules: the command's words and the message's blocks."""

from __future__ import annotations

from remediation.approvals.slack.rules import MessageView, escape, message_blocks, parse_command


def test_pause_reads_a_category_only_when_something_names_it():
    assert parse_command("pause cache disk full", {"cache"}).category == "cache"
    assert parse_command("pause cache disk full", {"cache"}).reason == "disk full"
    unknown = parse_command("pause cahce disk full", set())
    assert (unknown.category, unknown.reason) == ("", "cahce disk full")
    assert parse_command("pause all maintenance", set()).category == ""
    assert parse_command("pause all maintenance", set()).reason == "maintenance"
    assert parse_command("pause", set()).error
    assert parse_command("pause cache", {"cache"}).error  # a category but no reason
    assert parse_command("pause " + "x" * 501, set()).error


def test_resume_link_status_help_and_the_rest():
    assert parse_command("resume", set()).category == ""
    assert parse_command("RESUME Cache", set()).category == "cache"
    assert parse_command("resume all", set()).category == ""
    assert parse_command("resume a b", set()).error
    assert parse_command("resume ../x", set()).error
    assert parse_command("link", set()).verb == "link"
    assert parse_command("link alice@example.com", set()).account == "alice@example.com"
    assert parse_command("link a b", set()).error
    assert parse_command("status", set()).verb == "status"
    assert parse_command("", set()).verb == "help"
    assert parse_command("drop tables", set()).error


def view(**fields) -> MessageView:
    base = {
        "ticket_id": "INC-1",
        "title": "disk <!channel>",
        "runs": ["restart_vm on web-1"],
        "risk": "medium",
        "reliability": "72.5",
        "required": 1,
        "expires_at": "2026-12-07 10:00",
        "link": "https://example/approvals/requests/INC-1/",
        "state": "pending",
        "approve_token": "a",
        "reject_token": "r",
    }
    return MessageView(**{**base, **fields})


def ids(blocks) -> list[str]:
    return [e["action_id"] for e in blocks[1]["elements"]]


def test_the_buttons_are_there_only_while_the_request_waits():
    assert ids(message_blocks(view(), block_id="b")[1]) == ["approve", "reject", "open"]
    for state in ("approved", "rejected", "expired"):
        assert ids(message_blocks(view(state=state), block_id="b")[1]) == ["open"]


def test_everything_is_escaped_the_fallback_too():
    text, blocks = message_blocks(
        view(decisions=["Rejected by bob: <@U123>"], execution="ran <x>", outcome="& done"),
        block_id="b",
    )
    assert text == "INC-1 waits for approval: disk &lt;!channel&gt;"
    section = blocks[0]["text"]["text"]
    assert "<" not in section.replace("&lt;", "")
    assert "&lt;@U123&gt;" in section and "ran &lt;x&gt;" in section and "&amp; done" in section
    assert escape("a&<b>") == "a&amp;&lt;b&gt;"


def test_a_long_message_is_cut_to_slacks_limit():
    _, blocks = message_blocks(view(title="x" * 5000), block_id="b")
    assert len(blocks[0]["text"]["text"]) <= 2900
