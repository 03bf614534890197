"""The Slack app: approving from Slack and keeping its approval messages up to date, linking
a Slack user to a user of this system, and the ``/remediation`` command.

* ``verify``: is a request from Slack (size, timestamp, signature; every refusal audited);
* ``interactions``: a click on Approve or Reject decides through the approval service;
* ``messages``: the approval message, posted when a request waits, updated in place when
  anything happens to it anywhere, with the events in its thread (delivered by the worker);
* ``links``: the signed one-time link a Slack user gets from ``/remediation link``, which
  binds that Slack user to the account signed in on the web (audited);
* ``commands``: ``/remediation status | pause [category] reason… | resume [category] |
  link``, under the kill switch's own permission;
* ``rules``: the texts, the blocks and the command's words, pure;
* ``views``: the command's endpoint and the link's page.
"""

from remediation.approvals.slack.interactions import interaction
from remediation.approvals.slack.messages import approval_message_post
from remediation.approvals.slack.verify import slack_enabled

__all__ = ["approval_message_post", "interaction", "slack_enabled"]
