"""Run queued django-q2 tasks in-process through django-q2's own worker code.

One implementation for the tests and the incident replay: ``bench/replay/worker.py``.
"""

from __future__ import annotations

from bench.replay.worker import drain

__all__ = ["drain"]
