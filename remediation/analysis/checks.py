"""Start-up checks for the remediation app.

The anthropic SDK is imported only when the anthropic analyzer is configured: with the local
analyzer (the default) no command, worker or web process loads it."""

from __future__ import annotations

import typing
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

FALLBACK_MODEL = "claude-sonnet-4-6"


def uses_anthropic() -> bool:
    return str(settings.AUTO_REMEDIATION_ANALYZER) == "anthropic"


def _deprecated_models() -> dict[str, str]:
    from anthropic._data.deprecated_models import DEPRECATED_MODELS

    return DEPRECATED_MODELS


def _known_models() -> list[str]:
    """The model ids the installed SDK knows, newest first (the order of its own table)."""
    from anthropic.types import Model

    literals = [arg for arg in typing.get_args(Model) if typing.get_origin(arg) is typing.Literal]
    return [m for lit in literals for m in typing.get_args(lit)]


def suggest_replacement(model: str) -> str:
    """A current model of the same family (sonnet, opus, haiku...) that the SDK does not
    deprecate; a current Sonnet when the family is unknown."""
    parts = model.split("-")
    family = parts[1] if len(parts) > 1 and parts[0] == "claude" else ""
    deprecated = _deprecated_models()
    current = [m for m in _known_models() if m not in deprecated and not m.endswith("-preview")]
    for wanted in (family, "sonnet"):
        for candidate in current:
            if wanted and candidate.split("-")[1:2] == [wanted]:
                return candidate
    return FALLBACK_MODEL


def deprecated_model_message(model: str) -> str | None:
    """The warning for ``model`` when the SDK lists it as deprecated, else None."""
    end_of_life = _deprecated_models().get(model)
    if end_of_life is None:
        return None
    return (
        f"ANTHROPIC_MODEL {model!r} is deprecated: the anthropic SDK gives its end of life as "
        f"{end_of_life}. After that date the anthropic analyzer stops working."
    )


@register(Tags.compatibility)
def check_anthropic_model(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not uses_anthropic():
        return []
    model = str(settings.ANTHROPIC_MODEL)
    message = deprecated_model_message(model)
    if message is None:
        return []
    return [
        CheckWarning(
            message,
            hint=f"Set ANTHROPIC_MODEL to a current model, e.g. {suggest_replacement(model)!r}.",
            id="remediation.W001",
        )
    ]
