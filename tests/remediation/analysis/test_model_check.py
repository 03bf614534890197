"""Start-up warns when ANTHROPIC_MODEL is on the SDK's deprecated list.

The SDK's table changes from release to release (a model leaves it once it is retired), so
these tests build the entries they need in it instead of relying on what a given release
happens to list.
"""

from __future__ import annotations

import logging

import pytest
from anthropic._data.deprecated_models import DEPRECATED_MODELS
from django.apps import apps
from django.core.checks import Warning as CheckWarning
from django.core.checks import run_checks

OLD_SONNET = "claude-sonnet-3-9-test"
OLD_OPUS = "claude-opus-3-9-test"


@pytest.fixture(autouse=True)
def _anthropic_analyzer(settings):
    settings.AUTO_REMEDIATION_ANALYZER = "anthropic"


@pytest.fixture
def deprecated(monkeypatch):
    monkeypatch.setitem(DEPRECATED_MODELS, OLD_SONNET, "November 30th, 2026")
    monkeypatch.setitem(DEPRECATED_MODELS, OLD_OPUS, "January 22nd, 2027")
    return DEPRECATED_MODELS


def w001(messages):
    return [m for m in messages if m.id == "remediation.W001"]


def test_a_deprecated_model_gets_a_warning_naming_it_its_end_of_life_and_a_replacement(
    settings, deprecated
):
    settings.ANTHROPIC_MODEL = OLD_SONNET
    [warning] = w001(run_checks())
    assert isinstance(warning, CheckWarning)
    assert f"'{OLD_SONNET}'" in warning.msg
    assert "November 30th, 2026" in warning.msg
    assert warning.hint is not None
    replacement = warning.hint.split("'")[1]
    assert replacement.startswith("claude-sonnet-")
    assert replacement not in deprecated


def test_every_deprecated_model_the_installed_sdk_lists_is_caught(settings, deprecated):
    for model, end_of_life in deprecated.items():
        settings.ANTHROPIC_MODEL = model
        [warning] = w001(run_checks())
        assert model in warning.msg
        assert end_of_life in warning.msg


def test_a_model_the_sdk_does_not_deprecate_passes_quietly(settings, deprecated):
    settings.ANTHROPIC_MODEL = "claude-sonnet-99-test"
    assert w001(run_checks()) == []


def test_start_up_logs_the_warning_too(settings, caplog, deprecated):
    settings.ANTHROPIC_MODEL = OLD_OPUS
    with caplog.at_level(logging.WARNING, logger="remediation"):
        apps.get_app_config("remediation").ready()
    [record] = [r for r in caplog.records if r.name == "remediation"]
    assert record.levelno == logging.WARNING
    assert f"'{OLD_OPUS}'" in record.getMessage()
    assert "January 22nd, 2027" in record.getMessage()
    assert "claude-opus-" in record.getMessage().split("e.g.")[1]


def test_start_up_logs_nothing_for_a_current_model(settings, caplog, deprecated):
    settings.ANTHROPIC_MODEL = "claude-sonnet-99-test"
    with caplog.at_level(logging.WARNING, logger="remediation"):
        apps.get_app_config("remediation").ready()
    assert [r for r in caplog.records if r.name == "remediation"] == []


def test_with_the_local_analyzer_nothing_warns_and_the_sdk_is_not_loaded(
    settings, caplog, deprecated
):
    settings.AUTO_REMEDIATION_ANALYZER = "local"
    settings.ANTHROPIC_MODEL = OLD_SONNET
    assert w001(run_checks()) == []
    with caplog.at_level(logging.WARNING, logger="remediation"):
        apps.get_app_config("remediation").ready()
    assert [r for r in caplog.records if r.name == "remediation"] == []


def test_a_command_with_the_local_analyzer_does_not_import_the_sdk():
    """Start-up of every command, worker and web process: the SDK costs time and memory, and
    the default (local) analyzer never needs it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys, django; django.setup(); "
        "from django.core.management import call_command; call_command('check'); "
        "print('anthropic' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"}
    env["AUTO_REMEDIATION_ANALYZER"] = "local"
    env.pop("PYTEST_XDIST_WORKER", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
