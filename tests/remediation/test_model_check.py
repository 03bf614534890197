"""Start-up warns when ANTHROPIC_MODEL is on the SDK's deprecated list."""

from __future__ import annotations

import logging

from anthropic._data.deprecated_models import DEPRECATED_MODELS
from django.apps import apps
from django.core.checks import Warning as CheckWarning
from django.core.checks import run_checks


def w001(messages):
    return [m for m in messages if m.id == "remediation.W001"]


def test_a_deprecated_model_gets_a_warning_naming_it_its_end_of_life_and_a_replacement(settings):
    settings.ANTHROPIC_MODEL = "claude-sonnet-4-5"
    [warning] = w001(run_checks())
    assert isinstance(warning, CheckWarning)
    assert "'claude-sonnet-4-5'" in warning.msg
    assert DEPRECATED_MODELS["claude-sonnet-4-5"] in warning.msg
    assert "November 30th, 2026" in warning.msg
    assert warning.hint is not None
    replacement = warning.hint.split("'")[1]
    assert replacement.startswith("claude-sonnet-")
    assert replacement not in DEPRECATED_MODELS


def test_every_deprecated_model_is_caught(settings):
    for model in DEPRECATED_MODELS:
        settings.ANTHROPIC_MODEL = model
        [warning] = w001(run_checks())
        assert model in warning.msg


def test_a_current_model_passes_quietly(settings):
    settings.ANTHROPIC_MODEL = "claude-sonnet-4-6"
    assert w001(run_checks()) == []


def test_start_up_logs_the_warning_too(settings, caplog):
    settings.ANTHROPIC_MODEL = "claude-opus-4-5"
    with caplog.at_level(logging.WARNING, logger="remediation"):
        apps.get_app_config("remediation").ready()
    [record] = [r for r in caplog.records if r.name == "remediation"]
    assert record.levelno == logging.WARNING
    assert "'claude-opus-4-5'" in record.getMessage()
    assert "January 22nd, 2027" in record.getMessage()


def test_start_up_logs_nothing_for_a_current_model(settings, caplog):
    settings.ANTHROPIC_MODEL = "claude-sonnet-4-6"
    with caplog.at_level(logging.WARNING, logger="remediation"):
        apps.get_app_config("remediation").ready()
    assert [r for r in caplog.records if r.name == "remediation"] == []
