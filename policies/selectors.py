"""Reads: the policy that governs a category, and the global switches above every policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from policies.models import PAUSE_ALL, AutoRemediationPolicy, RemediationPause, Team
from policies.rules import GlobalSettings
from policies.rules.category import normalize_category


def policy_for_category(category: str) -> AutoRemediationPolicy | None:
    """The enabled policy for ``category``, or None (a disabled policy counts as none).
    The category is compared normalized (``policies.categories.CategoryField``)."""
    return AutoRemediationPolicy.objects.filter(category=category, enabled=True).first()


def policy_by_name(name: str) -> AutoRemediationPolicy | None:
    """The policy a decision named (enabled or not), e.g. to find its approvers later."""
    return AutoRemediationPolicy.objects.filter(name=name).first()


def global_settings() -> GlobalSettings:
    """The global settings: kill switch, reliability floor, approval rule and global cap.

    Read on every call (not cached at import) so that tests' ``settings`` overrides and a
    reloaded configuration take effect at once.
    """
    return GlobalSettings(
        enabled=bool(settings.AUTO_REMEDIATION_ENABLED),
        min_reliability=float(settings.AUTO_REMEDIATION_MIN_RELIABILITY),
        require_approval=bool(settings.AUTO_REMEDIATION_REQUIRE_APPROVAL),
        max_actions_per_hour=int(settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR),
    )


def pause_in_force(category: str) -> RemediationPause | None:
    """The live kill switch as it stands now for ``category``: the pause of every category
    if there is one, else this category's, else None. One query; never cached. Compared
    normalized: a pause typed ``CACHE`` is the pause of ``cache``."""
    return (
        RemediationPause.objects.filter(category__in=[PAUSE_ALL, category])
        .select_related("paused_by")
        .order_by("category")
        .first()
    )


# Every pause sentence starts so (a decision taken while paused is found by it).
PAUSED_PREFIX = "Auto-remediation is paused for "


def pause_sentence(pause: RemediationPause) -> str:
    """How a decision or a refused claim names the switch."""
    who = pause.paused_by.get_username() if pause.paused_by else "an administrator"
    return f"{PAUSED_PREFIX}{pause.scope} by {who}: {pause.reason}"


def pauses_in_force() -> list[RemediationPause]:
    """Every pause in force (every category first): one query, for a page or an API answer
    that speaks of many tickets (``pause_for`` matches one ticket against them)."""
    return list(RemediationPause.objects.select_related("paused_by").order_by("category"))


def pause_for(category: str, pauses: list[RemediationPause]) -> RemediationPause | None:
    """The pause among ``pauses`` that holds ``category``, as ``pause_in_force`` would."""
    wanted = normalize_category(category or "")
    for pause in pauses:
        if pause.category in (PAUSE_ALL, wanted):
            return pause
    return None


def pause_in_force_sql(
    category: str,
) -> tuple[str, list[str], Callable[[tuple[Any, ...] | None], RemediationPause | None]]:
    """``pause_in_force(category)`` as one ``SELECT`` to end a statement of one's own with
    (the ticket intake reads it in the statement that inserts the ticket, so its answer's
    ``paused`` costs no round trip): the SQL, its parameters, and what makes its row (or
    None) the pause. Read by that statement, never cached: a pause committed before the
    statement shows in it, whichever process wrote it."""
    user_model = get_user_model()
    pause, user = RemediationPause._meta, user_model._meta
    username = user_model._meta.get_field(user_model.USERNAME_FIELD).column  # type: ignore[union-attr]
    sql = (
        f"SELECT p.id, p.category, p.reason, p.paused_by_id, p.paused_at, u.{username} "  # noqa: S608
        f"FROM {pause.db_table} p "
        f"LEFT JOIN {user.db_table} u ON u.{user.pk.column} = p.paused_by_id "
        "WHERE p.category IN (%s, %s) ORDER BY p.category LIMIT 1"
    )
    params = [PAUSE_ALL, normalize_category(category or "")]

    def pause_of(row: tuple[Any, ...] | None) -> RemediationPause | None:
        if row is None:
            return None
        found = RemediationPause(
            id=row[0], category=row[1], reason=row[2], paused_by_id=row[3], paused_at=row[4]
        )
        if row[3] is not None:
            found.paused_by = user_model(**{"pk": row[3], user_model.USERNAME_FIELD: row[5]})
        found._state.adding = False
        found._state.db = connection.alias
        return found

    return sql, params, pause_of


def pause_dict(pause: RemediationPause | None) -> dict[str, object] | None:
    """A pause as every API answer about a ticket shows it (``paused``), or None."""
    if pause is None:
        return None
    return {
        "scope": pause.scope,
        "category": pause.category or None,
        "by": pause.paused_by.get_username() if pause.paused_by else None,
        "at": pause.paused_at,
        "reason": pause.reason,
    }


# --- teams --------------------------------------------------------------------------------


def teams() -> list[Team]:
    """Every team with its member ids (one query for teams, one for memberships)."""
    return list(Team.objects.prefetch_related("members").order_by("name"))


def teams_owning(category: str, system: str = "", *, among: list[Team] | None = None) -> list[Team]:
    """The teams that own a ticket of ``category`` on ``system``: those naming its category,
    and those naming its system. Empty: nobody owns it (decided as without teams)."""
    wanted = normalize_category(category or "")
    return [
        team
        for team in (teams() if among is None else among)
        if wanted in (team.categories or []) or (system and system in (team.systems or []))
    ]


def team_ids_of(user: object) -> set[int]:
    """The ids of the teams ``user`` belongs to."""
    pk = getattr(user, "pk", None)
    if not getattr(user, "is_authenticated", False) or not isinstance(pk, int):
        return set()
    return set(Team.objects.filter(members__id=pk).values_list("id", flat=True))


def owners_refusing(user: object, category: str, system: str = "") -> list[Team]:
    """The teams that own a ticket of ``category`` on ``system`` when ``user`` is in none of
    them: whoever is outside every owning team may not decide or teach from such a ticket.
    Empty when nobody owns it or ``user`` is in a team that does. The one team rule, asked
    by the approval service, the review queue, trusted feedback and the reconciliation of
    an unknown outcome."""
    owners = teams_owning(category, system)
    if not owners or {t.pk for t in owners} & team_ids_of(user):
        return []
    return owners
