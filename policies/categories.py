"""Categories as the database stores them, and which categories are in use.

``CategoryField`` is the one field every model that names a category uses (tickets, their
daily counters, executions, runbooks, alert mappings' defaults, policies, pauses): what it
saves, and what it is compared with in a query (``filter(category="CACHE")``), is the
normalized category (``policies.rules.category.normalize_category``), so two spellings of
one category can never disagree between a pause, a policy and a ticket.

``category_uses`` says what a category would match: the policies, alert mappings,
runbooks, tickets and executions that name it, and the categories the project declares
(the platforms' categories a diagnosis files tickets under). The policies app may not
import the rest of the project, so it finds the other users through the field itself (every
model with a ``CategoryField``) and through ``declare_categories`` (called at start-up).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.validators import RegexValidator
from django.db import models

from policies.rules.category import CATEGORY_PATTERN, normalize_category

category_validator = RegexValidator(
    CATEGORY_PATTERN, "A category: letters, digits, '_' or '-' (stored in lowercase)."
)
_optional_category_validator = RegexValidator(
    r"^$|" + CATEGORY_PATTERN,
    "A category: letters, digits, '_' or '-' (stored in lowercase), or empty.",
)


class CategoryField(models.CharField):
    """A category: stored, compared and validated in its normalized form (lowercase)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 50)
        super().__init__(*args, **kwargs)
        self.validators.append(_optional_category_validator if self.blank else category_validator)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 50:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return normalize_category(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return normalize_category(value) if isinstance(value, str) else value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # What is saved is normalized; the instance keeps what it was given until reloaded
        # (the services and forms normalize before they save).
        value = getattr(model_instance, self.attname)
        return normalize_category(value) if isinstance(value, str) else value


# Categories the project itself files tickets under, by who declares them.
_declared: dict[str, frozenset[str]] = {}


def declare_categories(source: str, categories: Iterable[str]) -> None:
    """Declare ``categories`` known, as used by ``source`` (e.g. "the diagnosis")."""
    _declared[source] = frozenset(normalize_category(c) for c in categories)


def category_uses(category: str) -> list[str]:
    """What names ``category`` now, in words ("policy cache-auto-remediation", "tickets",
    ...): empty when nothing does (a typo, or a category nothing uses yet). One indexed
    EXISTS query per model that has a category field (except the pauses themselves)."""
    wanted = normalize_category(category)
    uses = [
        f"{source} (declared)" for source, names in sorted(_declared.items()) if wanted in names
    ]
    from policies.models import AutoRemediationPolicy, RemediationPause

    for policy in AutoRemediationPolicy.objects.filter(category=wanted).only("name", "enabled"):
        uses.append(f"policy {policy.name}" + ("" if policy.enabled else " (disabled)"))
    for model in apps.get_models():
        if model in (AutoRemediationPolicy, RemediationPause):
            continue
        for field in model._meta.concrete_fields:
            if (
                isinstance(field, CategoryField)
                and model._default_manager.filter(**{field.name: wanted}).exists()
            ):
                uses.append(f"{model._meta.verbose_name_plural} ({field.name})")
    return uses


MAX_KNOWN = 200


def known_categories() -> list[str]:
    """Every category something names now (at most ``MAX_KNOWN``), sorted: to suggest the
    right spelling when a pause names a category nothing uses."""
    from policies.models import RemediationPause

    known: set[str] = set()
    for names in _declared.values():
        known |= names
    for model in apps.get_models():
        if model is RemediationPause:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, CategoryField):
                known.update(
                    model._default_manager.exclude(**{field.name: ""})
                    .order_by()
                    .values_list(field.name, flat=True)
                    .distinct()[:MAX_KNOWN]
                )
    return sorted(known)[:MAX_KNOWN]
