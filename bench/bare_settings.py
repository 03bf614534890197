"""The project's settings with one URL: a bare DRF ticket POST (see bare_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
