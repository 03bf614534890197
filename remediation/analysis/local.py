"""The default analyzer: diagnosis first, then the runbook whose action fixes that cause.

Order of work (docs/analysis.md):

1. ``diagnose`` the ticket: cause, evidence quoted from it, what is ruled out, platform.
2. Keep the runbooks whose action fixes that cause (``Runbook.fixes_causes``, else the
   catalogue's default) and whose operation is not contraindicated for it
   (``vocabulary.DOES_NOT_FIX`` always applies, plus ``Runbook.not_for_causes``).
3. Pick the target from ``affected_system`` and the ticket's objects, through the catalogue's
   kind, platform and scope rule (``remediation.catalogue.rules.targets``).
4. Write the resolution from the diagnosis and what was actually proposed; everything not
   proposed is listed as such, never recommended.

No cause established means no action: the analysis abstains and says a person is needed.
Runbooks whose symptom words match but whose action does not fix the cause are named in
``dropped`` with the reason, so an approver sees what was considered and why it was refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from remediation.analysis.base import AnalysisResult, TicketText
from remediation.analysis.models import Runbook, RunbookSource
from remediation.analysis.rules.diagnosis import Diagnosis, diagnose
from remediation.analysis.rules.evidence import Weighed, in_scope, related_objects, weigh
from remediation.analysis.rules.matching import (
    RunbookEntry,
    find_current,
    find_params,
    match_runbooks,
)
from remediation.analysis.rules.vocabulary import CAUSE_BY_KEY, DOES_NOT_FIX, FIXES
from remediation.analysis.selectors import (
    learned_runbooks_for_pattern,
    written_runbooks_for_category,
)
from remediation.catalogue.rules.operations import (
    ObjectKind,
    Operation,
    Platform,
    SuggestedAction,
    effective_action_type,
    get_operation,
    growth_refusal,
    validate_suggestions,
)
from remediation.catalogue.rules.targets import (
    ObjectRef,
    choose_target,
    find_objects,
    parse_affected,
    target_refusal,
)
from remediation.investigation.rules.observations import Finding, read_observations

# How much the way the target was found and where the runbook came from weigh on confidence.
DERIVED_TARGET_FACTOR = 0.97
TEXT_TARGET_FACTOR = 0.9
LEARNED_FACTOR = 0.9
MAX_CONFIDENCE = 0.95
MAX_DROPPED_SHOWN = 5

NO_MATCH = (
    "No cause could be established from this ticket, so no action is proposed. A person should "
    "investigate; the feedback on how it was fixed teaches the next similar ticket."
)


def _entry(row: Runbook) -> RunbookEntry:
    return RunbookEntry(
        name=row.name,
        operation=row.operation,
        symptoms=tuple(row.symptom_list),
        resolution=row.resolution,
        category=row.category,
        params=row.params if isinstance(row.params, dict) else {},
        learned=row.source == RunbookSource.FEEDBACK,
        id=row.id,
        fixes=tuple(row.fixes_cause_list),
        not_for=tuple(row.not_for_cause_list),
    )


def load_runbooks(category: str = "") -> list[RunbookEntry]:
    """Enabled shipped and admin-written runbooks for ``category`` (and for every category)."""
    return [_entry(row) for row in written_runbooks_for_category(category)]


def learned_runbooks(ticket: TicketText, diagnosis: Diagnosis | None = None) -> list[RunbookEntry]:
    """Runbooks learned from feedback that may apply to ``ticket``: the one place they come in.

    Only the active learned runbooks of the ticket's own pattern (a learned runbook is a
    proposal scoped to the pattern that taught it, inactive until an admin or two trusted
    teachers enable it), so the work per ticket does not grow with what was learned. The
    pattern is keyed on the diagnosed cause (``rules.pattern_key``); without ``diagnosis``,
    the words' own diagnosis decides. Their text is untrusted (a user wrote it); they can
    only ever propose an operation the diagnosed cause calls for, like any runbook.
    """
    seen = diagnosis if diagnosis is not None else words_diagnosis(ticket)
    hashed = ticket.pattern_hash(seen.to_dict())
    return [_entry(row) for row in learned_runbooks_for_pattern(hashed)]


def candidate_runbooks(
    ticket: TicketText, diagnosis: Diagnosis | None = None
) -> list[RunbookEntry]:
    return load_runbooks(ticket.category) + learned_runbooks(ticket, diagnosis)


def words_diagnosis(ticket: TicketText) -> Diagnosis:
    """What the ticket's words alone establish (before anything is observed)."""
    affected = parse_affected(ticket.affected_system)
    affected_platform = affected.platform.value if affected and affected.platform else None
    if affected is not None and affected.kind.value == "volume":
        affected_platform = None  # a volume belongs to whatever host the text is about
    objects = find_objects(ticket.text)
    return diagnose(
        ticket.text,
        category=ticket.category,
        affected_platform=affected_platform,
        object_platforms=[o.platform.value for o in objects if o.platform is not None],
    )


def fixes(runbook: RunbookEntry, cause: str) -> bool:
    """Whether ``runbook``'s action fixes ``cause``: named by the runbook (or, blank, the
    catalogue's default) and not contraindicated by either."""
    claimed = set(runbook.fixes) or set(FIXES.get(runbook.operation, ()))
    if runbook.learned:
        # Feedback cannot widen what an operation is for.
        claimed &= set(FIXES.get(runbook.operation, ()))
    refused = set(DOES_NOT_FIX.get(runbook.operation, ())) | set(runbook.not_for)
    return cause in claimed and cause not in refused


def _platform_fits(operation: Operation, platform: str | None, candidates: set[Platform]) -> bool:
    if platform is None:
        # Unknown platform: only when every fixing operation is on the same one.
        return len(candidates) == 1
    return operation.platform.value == platform or operation.platform is Platform.STORAGE


# Parameters a ticket's text may give: names, not amounts. Amounts (replicas, sizes,
# retention) come from the cause and the observations.
TEXT_PARAMS = frozenset({"interface", "snapshot_name"})


class LocalAnalyzer:
    name = "local"

    def __init__(self, runbooks: list[RunbookEntry] | None = None) -> None:
        # Tests and the benchmark may pass runbooks; otherwise they are read per ticket, so an
        # edit in the admin applies to the very next ticket.
        self._runbooks = runbooks

    def analyze(self, ticket: TicketText) -> AnalysisResult:
        affected = parse_affected(ticket.affected_system)
        objects = find_objects(ticket.text)
        diagnosis = words_diagnosis(ticket)
        # What was observed outranks the words (rules/evidence.py).
        weighed, facts = weigh_ticket(diagnosis, ticket.investigation)
        diagnosis = weighed.diagnosis
        # The learned runbooks of the pattern of the cause as weighed (observed or said).
        runbooks = (
            self._runbooks if self._runbooks is not None else candidate_runbooks(ticket, diagnosis)
        )
        if ticket.affected_system.strip() and affected is None:
            # An affected system this system cannot read names no object: the text must not
            # be left to pick one.
            return self._abstain(
                diagnosis.with_human(
                    f"the affected system {ticket.affected_system[:80]!r} names no object "
                    "this system can act on"
                ),
                [],
            )
        observed: dict[str, Any] = {
            "related": related_objects(ticket.investigation),
            "current": facts,
        }
        if weighed.finding is not None:
            affected, objects, seen = observed_target(weighed.finding, facts)
            observed.update(seen)
        wanted = ticket.category.strip().casefold()
        usable = [
            r for r in runbooks if not r.category.strip() or r.category.strip().casefold() == wanted
        ]
        keyword = match_runbooks(ticket.text, usable, category=ticket.category)
        dropped: list[str] = []

        if not diagnosis.established:
            for match in keyword[:MAX_DROPPED_SHOWN]:
                dropped.append(
                    f"{match.runbook.operation} (runbook {match.runbook.name!r}, matched on "
                    f"symptom words) not proposed: the cause is not established"
                )
            return self._abstain(diagnosis, dropped)

        cause = diagnosis.cause
        for match in keyword:
            if not fixes(match.runbook, cause) and len(dropped) < MAX_DROPPED_SHOWN:
                dropped.append(
                    f"{match.runbook.operation} (runbook {match.runbook.name!r}) not proposed: "
                    f"it does not fix {diagnosis.cause_label}"
                )
        rank = {id(m.runbook): m.rank for m in keyword}
        fixing = [r for r in usable if fixes(r, cause) and get_operation(r.operation)]
        # Shipped and admin runbooks first; then the better symptom match.
        fixing.sort(key=lambda r: (r.learned, -rank.get(id(r), 0.0)))
        platforms = {op.platform for r in fixing if (op := get_operation(r.operation))}
        fitting = [
            r
            for r in fixing
            if (op := get_operation(r.operation))
            and _platform_fits(op, diagnosis.platform, platforms)
        ]
        if fixing and not fitting:
            for key in sorted({r.operation for r in fixing}):
                dropped.append(
                    f"{key} not proposed: the ticket's platform is "
                    f"{diagnosis.platform or 'not established'}"
                )
            return self._abstain(
                diagnosis.with_human(
                    "the cause is established but no operation for it fits this platform"
                ),
                dropped,
            )
        if not fixing:
            return self._abstain(
                diagnosis.with_human(f"no catalogue operation fixes {diagnosis.cause_label}"),
                dropped,
            )

        platform = Platform(diagnosis.platform) if diagnosis.platform else None
        for runbook in fitting:
            result = self._propose(
                ticket, runbook, diagnosis, affected, objects, platform, dropped, observed
            )
            if result is not None:
                return result
        return self._abstain(
            diagnosis.with_human("the action that fixes this cause could not be built safely"),
            dropped,
        )

    def _propose(
        self,
        ticket: TicketText,
        runbook: RunbookEntry,
        diagnosis: Diagnosis,
        affected: ObjectRef | None,
        objects: list[ObjectRef],
        platform: Platform | None,
        dropped: list[str],
        observed: dict[str, Any] | None = None,
    ) -> AnalysisResult | None:
        operation = get_operation(runbook.operation)
        assert operation is not None  # filtered by the caller
        if platform is None:
            platform = operation.platform  # the only platform with an operation for this cause
        observed = observed or {}
        related = observed.get("related") or frozenset()
        target, reason, derived = choose_target(
            operation, affected=affected, objects=objects, platform=platform, related=related
        )
        if target is None:
            dropped.append(f"{operation.key} not proposed: {reason}")
            return None
        refusal = target_refusal(
            operation, target, platform=platform, affected=affected, related=related
        )
        if refusal:
            dropped.append(f"{operation.key} on {target.name!r} not proposed: {refusal}")
            return None
        known = {p.name for p in operation.params}
        params = {k: v for k, v in runbook.params.items() if k in known}
        # Sizes come from the cause and what was observed (more replicas than now, the
        # next flavor...), never from the ticket's words: a text saying "scale to 1" on a
        # saturated deployment is not the fix. Only names the text gives (an interface, a
        # snapshot's name) are taken from it; the observed object's identity always wins.
        current = (observed.get("current") or {}).get(target.name) or observed.get("facts") or {}
        params.update(derived_params(operation.key, current))
        stated = find_params(ticket.text, operation)
        params.update({k: v for k, v in stated.items() if k in TEXT_PARAMS})
        params[operation.target_param] = target.name
        params.update(observed.get("identity") or {})
        missing = [p.name for p in operation.params if p.required and p.name not in params]
        if missing and not current:
            dropped.append(
                f"{operation.key} on {target.name!r} not proposed: its {', '.join(missing)} "
                "comes from what the platform shows, and nothing was observed"
            )
            return None
        growth = growth_refusal(operation.key, params, current)
        if growth:
            dropped.append(f"{operation.key} on {target.name!r} not proposed: {growth}")
            return None
        actions, reasons = validate_suggestions([{"operation": operation.key, "params": params}])
        if not actions:
            dropped.extend(f"{operation.key} not proposed: {r}" for r in reasons)
            return None
        _, destructive = effective_action_type(
            operation, actions[0].params, {**find_current(ticket.text), **current}
        )
        if destructive:
            # The runbook's fix is the operation as it is meant (more replicas for a load
            # spike); parameters that turn it destructive are not that fix.
            dropped.append(f"{operation.key} not proposed: {destructive}")
            return None
        confidence = diagnosis.confidence
        if derived:
            confidence *= DERIVED_TARGET_FACTOR if affected is not None else TEXT_TARGET_FACTOR
        if runbook.learned:
            confidence *= LEARNED_FACTOR
        confidence = round(min(MAX_CONFIDENCE, confidence), 3)
        return AnalysisResult(
            resolution=compose_resolution(diagnosis, actions, dropped, runbook),
            actions=actions,
            dropped=dropped,
            confidence=confidence,
            analyzer=self.name,
            runbooks=[runbook.name],
            diagnosis=diagnosis,
        )

    def _abstain(self, diagnosis: Diagnosis, dropped: list[str]) -> AnalysisResult:
        return AnalysisResult(
            resolution=compose_resolution(diagnosis, [], dropped, None),
            actions=[],
            dropped=dropped,
            confidence=0.0,
            analyzer=self.name,
            diagnosis=diagnosis,
        )


def compose_resolution(
    diagnosis: Diagnosis,
    actions: list[SuggestedAction],
    dropped: list[str],
    runbook: RunbookEntry | None,
) -> str:
    """The text people read, written from the diagnosis and only what was proposed."""
    lines: list[str] = []
    if diagnosis.established:
        lines.append(f"Diagnosis: {diagnosis.cause_label}.")
    elif diagnosis.cause != "unknown":
        lines.append(f"Diagnosis: suspected {diagnosis.cause_label} (not established).")
    else:
        lines.append(NO_MATCH)
    if diagnosis.evidence:
        lines.append("Evidence: " + "; ".join(f'"{q}"' for q in diagnosis.evidence[:4]) + ".")
    if diagnosis.ruled_out:
        lines.append("Ruled out: " + "; ".join(diagnosis.ruled_out[:4]) + ".")
    if actions:
        lines.append("Proposed: " + "; ".join(a.action for a in actions) + ".")
        # A learned runbook's text is untrusted user text: it is not repeated here.
        if runbook is not None and not runbook.learned:
            lines.append(runbook.resolution)
        elif runbook is not None:
            lines.append(f"(From the learned runbook {runbook.name!r}; its text is not shown.)")
    else:
        lines.append(f"No action proposed: {diagnosis.needs_human_reason or 'a person is needed'}.")
        cause = CAUSE_BY_KEY.get(diagnosis.cause)
        # Advice only for causes no catalogue operation fixes: otherwise it would recommend
        # an operation that was just not proposed.
        if cause is not None and not fixed_by_catalogue(cause.key):
            prefix = "A person should" if diagnosis.established else "If confirmed, a person should"
            lines.append(f"{prefix}: {cause.advice}")
    if dropped:
        lines.append("Not proposed: " + " | ".join(dropped[:MAX_DROPPED_SHOWN]))
    return "\n".join(lines)


def weigh_ticket(
    diagnosis: Diagnosis, investigation: Mapping[str, Any] | None
) -> tuple[Weighed, Mapping[str, Mapping[str, Any]]]:
    """The words' diagnosis weighed with the investigation; the observed facts by object."""
    if investigation is None:
        return weigh(diagnosis, status=None), {}
    objects = investigation.get("objects")
    objects = objects if isinstance(objects, list) else []
    status = str(investigation.get("status") or "")
    seen = read_observations(objects) if status in ("complete", "partial") else None
    weighed = weigh(
        diagnosis,
        status=status,
        reason=str(investigation.get("reason") or ""),
        observed=seen,
        scope=in_scope(objects),
    )
    return weighed, (seen.facts if seen is not None else {})


_OBSERVED_KIND = {
    "vm": ObjectKind.VM,
    "pod": ObjectKind.POD,
    "deployment": ObjectKind.DEPLOYMENT,
    "volume": ObjectKind.VOLUME,
    "instance": ObjectKind.INSTANCE,
    "interface": ObjectKind.DEVICE,
    "device": ObjectKind.DEVICE,
}


def observed_target(
    finding: Finding, facts: Mapping[str, Mapping[str, Any]]
) -> tuple[ObjectRef | None, list[ObjectRef], dict[str, Any]]:
    """The object the observation shows the fault on, as the target to act on."""
    kind = _OBSERVED_KIND.get(finding.kind)
    if kind is None:
        return None, [], {}
    name, _, interface = finding.name.partition(" ")
    if finding.kind != "interface":
        name, interface = finding.name, ""
    ref = ObjectRef(kind, name)
    identity = {"interface": interface} if interface else {}
    return ref, [ref], {"identity": identity, "facts": facts.get(finding.name) or {}}


_FLAVOR_ORDER = ("m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge")


def derived_params(operation: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters read off the observations when the ticket gives none (bounded by the
    capacity the platform reported)."""

    def num(key: str) -> int | None:
        value = facts.get(key)
        return int(value) if isinstance(value, int | float) and value > 0 else None

    out: dict[str, Any] = {}
    if not facts:
        return out
    memory, cpus, replicas, size = num("memory_gb"), num("cpus"), num("replicas"), num("size_gb")
    if operation == "increase_memory" and memory:
        free = num("host_free_memory_gb")
        out["memory_gb"] = memory + min(memory, free) if free else memory * 2
    elif operation == "increase_cpu" and cpus:
        free = num("host_free_cpus")
        out["cpus"] = cpus + min(cpus, free) if free else cpus * 2
    elif operation == "scale_deployment" and replicas:
        quota = num("max_replicas") or replicas * 2
        out["replicas"] = min(quota, max(replicas + 1, math.ceil(replicas * 1.5)))
    elif operation == "expand_volume" and size:
        out["size_gb"] = int(math.ceil(size * 1.5 / 64) * 64)
    elif operation == "clear_snapshots":
        out.update(older_than_days=30, keep_last=2)
    elif operation == "resize_instance":
        flavor = str(facts.get("flavor") or "")
        if flavor in _FLAVOR_ORDER[:-1]:
            out["flavor"] = _FLAVOR_ORDER[_FLAVOR_ORDER.index(flavor) + 1]
    return out


def fixed_by_catalogue(cause: str) -> bool:
    return any(cause in causes for causes in FIXES.values())
