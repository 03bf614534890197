"""The settings mypy's Django plugin loads: the real ones, with a placeholder secret so that
type checking needs no ``.env`` and no secret (it never serves a request)."""

import os

os.environ.setdefault("SECRET_KEY", "type-checking-only")

from config.settings import *  # noqa: F403
