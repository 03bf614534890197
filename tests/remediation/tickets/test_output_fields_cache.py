"""The ticket answer's fields are built once per class: the answer must not change."""

from __future__ import annotations

import copy

import pytest
from rest_framework import serializers

from remediation.tickets.api import TicketOutputSerializer
from tests.support.factories import TicketFactory

# The same declarations on a plain ModelSerializer, which DRF builds for every instance.
Uncached = type(
    "Uncached",
    (serializers.ModelSerializer,),
    {
        **copy.deepcopy(TicketOutputSerializer._declared_fields),
        "get_alert_note": TicketOutputSerializer.get_alert_note,
        "get_actions_digest": TicketOutputSerializer.get_actions_digest,
        "get_paused": TicketOutputSerializer.get_paused,
        "Meta": TicketOutputSerializer.Meta,
    },
)


@pytest.mark.django_db
def test_cached_fields_give_the_same_answer_for_every_ticket():
    tickets = [
        TicketFactory(
            affected_system="prod-web-01",
            suggested_actions=[
                {
                    "action": "Restart the VM",
                    "system": f"prod-web-0{i}",
                    "operation": "restart_vm",
                    "platform": "vmware",
                    "params": {"vm": f"prod-web-0{i}"},
                    "action_type": "safe_write",
                    "rollback": "none",
                }
            ]
            * i,
        )
        for i in range(3)
    ]
    for ticket in tickets * 2:  # the second round uses the cached template
        assert TicketOutputSerializer(ticket).data == Uncached(ticket).data
    first, second = TicketOutputSerializer(tickets[0]), TicketOutputSerializer(tickets[1])
    # Each instance binds its own copies: nothing bound to one answer leaks into another.
    assert first.fields["title"] is not second.fields["title"]
    assert first.fields["title"].parent is first and second.fields["title"].parent is second
    assert first.data["ticket_id"] != second.data["ticket_id"]
