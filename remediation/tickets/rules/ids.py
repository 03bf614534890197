"""Ticket ids: which ones the ticket API leaves to others. Pure (no Django).

An alert's ticket id starts with ``am-`` (``remediation.alerts.rules.alert_ticket_id``):
only the Alertmanager intake, for the alert's own sender, makes one. Were the prefix open
to ``POST /api/v1/tickets``, any token could take an alert's id before it fires (its
fingerprint is a hash of labels, its sender id a small integer) and the real alert would
then answer "duplicate" on every delivery and never become a ticket.
"""

from __future__ import annotations

ALERT_TICKET_PREFIX = "am-"


def reserved_ticket_id(ticket_id: str) -> str | None:
    """Why the ticket API refuses ``ticket_id`` (None when it does not): the prefix is
    compared case-insensitively, so "AM-…" is refused as well."""
    if ticket_id[: len(ALERT_TICKET_PREFIX)].lower() == ALERT_TICKET_PREFIX:
        return (
            f"Ids starting with {ALERT_TICKET_PREFIX!r} are reserved for tickets made from "
            "alerts (POST /api/v1/alerts/...)."
        )
    return None
