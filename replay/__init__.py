"""The incident replay behind ``manage.py replay_incidents`` (see docs/replay.md): incident
kinds staged in the lab, submitted through the real API, worked through the real worker
code, with simulated approvers and operators; the report of how far autonomy was earned.

A program apart, like the lab: a measuring tool for demos and evaluation, not part of a
ticket's journey. Nothing in the project imports it (an import-linter contract); it is a
Django app only so that ``manage.py`` finds its command. It needs the development extras
(``time-machine``, ``matplotlib``), imported only when the command runs."""
