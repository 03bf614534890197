"""The incident replay behind ``manage.py replay_incidents`` (see docs/replay.md): incident
kinds staged in the lab, submitted through the real API, worked through the real worker
code, with simulated approvers and operators; the report of how far autonomy was earned.

A measuring tool for demos and evaluation, not part of a ticket's journey: it needs the
development extras (``time-machine``, ``matplotlib``)."""
