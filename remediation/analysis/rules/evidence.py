"""Words and observations weighed together. Pure: no Django, no I/O.

``weigh`` takes what the ticket's words establish (``diagnosis.diagnose``) and what the
investigation observed (``observations.read_observations``) and returns the diagnosis the
analysis acts on, with its ``basis``:

* ``observed``: one cause is observed on the object the ticket is about (or on a relative
  the platform named: its pod, deployment, interface). Observations outrank words: a cause
  the words only suspect, or do not mention, gives way, and so do words that *establish* a
  different cause: they are quoted in the evidence (``words_contradicted``), but the
  observed cause is the diagnosis, so its pattern is the same whatever the wording.
* ``words``: nothing could be observed (no object named, no connector lists tools for it).
  The words' cause may still be proposed for a person to approve, at a confidence capped at
  ``WORDS_ONLY_MAX`` and with ``needs_human`` set: the decision never runs it unattended.
* ``none``: the platform did not answer, or did not know the name, or the object looks
  healthy, or several causes fit, or the readings are abnormal but unexplained: no action,
  a person looks, and the diagnosis says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from remediation.analysis.rules.diagnosis import UNKNOWN, Diagnosis
from remediation.analysis.rules.vocabulary import CAUSE_BY_KEY, FIXES
from remediation.catalogue.rules.operations import CATALOGUE, growth_refusal
from remediation.catalogue.rules.targets import (
    ObjectRef,
    Related,
    belongs_to,
    classify_name,
    parse_affected,
)
from remediation.investigation.rules.observations import Finding, Observed, read_observations
from remediation.investigation.rules.subjects import KIND_PLATFORM

OBSERVED = "observed"
WORDS = "words"
NONE = "none"

WORDS_ONLY_MAX = 0.6
CONFIDENCE_OBSERVED = 0.93
CONFIDENCE_AGREED = 0.95
MAX_EVIDENCE = 8


@dataclass(frozen=True)
class Weighed:
    diagnosis: Diagnosis
    finding: Finding | None = None  # the observation the action rests on


def cause_label(cause: str) -> str:
    """What people read for a cause key."""
    entry = CAUSE_BY_KEY.get(cause)
    return entry.label if entry is not None else cause


_label = cause_label


def in_scope(objects: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(kind, name) of the object the ticket is about and the relatives seen through it."""
    primary = next((o for o in objects if isinstance(o, Mapping) and o.get("primary")), None)
    if primary is None:
        return set()
    name = primary.get("name")
    return {
        (str(o.get("kind")), str(o.get("name")))
        for o in objects
        if isinstance(o, Mapping) and (o is primary or o.get("of") == name)
    }


def related_objects(investigation: Mapping[str, Any] | None) -> Related:
    """(kind, name) of the objects the platform reported as related to the ticket's object
    (and that object itself): the only relations that widen an action's scope."""
    if not isinstance(investigation, Mapping):
        return frozenset()
    objects = investigation.get("objects")
    return frozenset(in_scope(objects if isinstance(objects, list) else []))


def observed_facts(investigation: Mapping[str, Any] | None) -> Mapping[str, Mapping[str, Any]]:
    """What the investigation read of each object's current state, by object name."""
    if not isinstance(investigation, Mapping):
        return {}
    if investigation.get("status") not in ("complete", "partial"):
        return {}
    objects = investigation.get("objects")
    return read_observations(objects if isinstance(objects, list) else []).facts


def action_refusal(
    action: Mapping[str, Any],
    *,
    affected_system: str,
    investigation: Mapping[str, Any] | None,
) -> str:
    """Why an action, whoever proposed it, must not be proposed at all ("" when it may).

    Its target must be the ticket's affected system or an object the platform lists as part
    of it, never one the text merely names; a capacity operation must add capacity over
    what the platform reports now (``growth_refusal``)."""
    operation = CATALOGUE.get(str(action.get("operation")))
    params = action.get("params")
    if operation is None or not isinstance(params, Mapping):
        return "not an action of the catalogue"
    name = str(params.get(operation.target_param, ""))
    if affected_system.strip():
        affected = parse_affected(affected_system)
        if affected is None:
            return f"the affected system {affected_system[:80]!r} names no object to act on"
        spec = operation.param(operation.target_param)
        ref = classify_name(name, hint=spec.kind if spec else None) or ObjectRef(
            affected.kind, name
        )
        if not belongs_to(ref, affected, related_objects(investigation)):
            return (
                f"{name!r} is not the affected system {affected.name!r} nor an object the "
                "platform lists as part of it"
            )
    facts = observed_facts(investigation).get(name)
    return growth_refusal(operation.key, params, facts)


def _with_basis(diagnosis: Diagnosis, basis: str, **extra: Any) -> Diagnosis:
    return replace(diagnosis, extra={**diagnosis.extra, "basis": basis, **extra})


def words_only(text: Diagnosis, why: str) -> Diagnosis:
    """The words' diagnosis when nothing could be observed: capped, and for a person."""
    capped = min(text.confidence, WORDS_ONLY_MAX)
    reason = f"only the ticket's words support it ({why})"
    weighed = replace(text, confidence=round(capped, 3))
    if text.established:
        weighed = replace(weighed, needs_human=True, needs_human_reason=reason)
    return _with_basis(weighed, WORDS, observed=[], words_confidence=text.confidence)


def no_action(text: Diagnosis, reason: str, quotes: Sequence[str] = ()) -> Diagnosis:
    """No action: a person looks; the words' cause, if any, is kept as a suspicion."""
    cause = text.cause if text.cause != UNKNOWN else UNKNOWN
    return _with_basis(
        replace(
            text,
            cause=cause,
            cause_label=text.cause_label if cause != UNKNOWN else "not established",
            established=False,
            confidence=0.0,
            needs_human=True,
            needs_human_reason=reason,
            evidence=tuple(quotes[:MAX_EVIDENCE]) + text.evidence[: MAX_EVIDENCE - len(quotes)],
        ),
        NONE,
        observed=list(quotes[:MAX_EVIDENCE]),
    )


def weigh(
    text: Diagnosis,
    *,
    status: str | None,
    reason: str = "",
    observed: Observed | None = None,
    scope: set[tuple[str, str]] | None = None,
) -> Weighed:
    """The diagnosis to act on, from the words and the investigation (see the module doc)."""
    if status is None or status == "skipped":
        return Weighed(words_only(text, reason or "nothing was investigated"))
    if status in ("failed", "not_found") or observed is None:
        return Weighed(no_action(text, f"could not investigate: {reason or status}"))
    scope = scope or set()
    relevant = [f for f in observed.findings if (f.kind, f.name) in scope]
    quotes = [f"observed: {f.quote}" for f in relevant]
    causes = list(dict.fromkeys(f.cause for f in relevant))
    if not causes:
        if observed.unexplained:
            return Weighed(
                no_action(
                    text,
                    "the readings are abnormal but no known cause fits them",
                    [f"observed: {q}" for q in observed.unexplained],
                )
            )
        healthy = ", ".join(observed.healthy[:4]) or "the objects looked at"
        verb = "looks" if len(observed.healthy) == 1 else "look"
        return Weighed(
            no_action(
                text,
                f"no fault found: {healthy} {verb} healthy",
                [f"observed healthy: {h}" for h in observed.healthy],
            )
        )
    if len(causes) > 1:
        labels = "; ".join(_label(c) for c in causes)
        return Weighed(no_action(text, f"several causes are observed: {labels}", quotes))
    cause = causes[0]
    finding = relevant[0]
    # Words that name another cause than the one observed do not decide: the observation
    # wins (so the pattern follows the cause, whatever the wording), and the words are
    # quoted beside it for whoever reads the ticket.
    contradicted = text.established and text.cause not in (cause, UNKNOWN)
    said = (
        (f"the ticket's words say {text.cause_label}; the observations show {_label(cause)}",)
        if contradicted
        else ()
    )
    agreed = text.cause == cause
    confidence = CONFIDENCE_AGREED if agreed and text.established else CONFIDENCE_OBSERVED
    entry = CAUSE_BY_KEY.get(cause)
    diagnosis = Diagnosis(
        cause=cause,
        cause_label=_label(cause),
        established=True,
        confidence=confidence,
        platform=KIND_PLATFORM.get(finding.kind, text.platform),
        symptoms=text.symptoms,
        evidence=(tuple(quotes) + said + (text.evidence if agreed else ()))[:MAX_EVIDENCE],
        ruled_out=text.ruled_out,
        alternatives=(),
        needs_human=False,
        advice=entry.advice if entry is not None else "",
    )
    return Weighed(
        _with_basis(
            diagnosis,
            OBSERVED,
            observed=quotes,
            observed_target={"kind": finding.kind, "name": finding.name},
            words_said=text.cause if text.cause != UNKNOWN else None,
            words_contradicted=contradicted,
        ),
        finding,
    )


def grounded(actions: Sequence[Mapping[str, Any]], investigation: Mapping[str, Any] | None) -> str:
    """Whether proposed actions rest on what was observed: "" when they do, else why not."""
    return grounding(actions, investigation)[0]


def grounding(
    actions: Sequence[Mapping[str, Any]], investigation: Mapping[str, Any] | None
) -> tuple[str, Finding | None]:
    """("", the observation the actions rest on), or (why they do not rest on one, None).

    Checked after any analyzer (the local one, or a language model whose own account is not
    taken on trust): there is exactly one cause observed on the ticket's object or a
    relative, every action is one that fixes that cause, and it acts on that very object."""
    if not actions:
        return "nothing is proposed", None
    if not investigation or investigation.get("status") not in ("complete", "partial"):
        return "nothing was observed", None
    objects = investigation.get("objects")
    objects = objects if isinstance(objects, list) else []
    scope = in_scope(objects)
    findings = [f for f in read_observations(objects).findings if (f.kind, f.name) in scope]
    causes = {f.cause for f in findings}
    if len(causes) != 1:
        why = "no single cause was observed" if not causes else "several causes were observed"
        return why, None
    finding = findings[0]
    for action in actions:
        operation = CATALOGUE.get(str(action.get("operation")))
        params = action.get("params")
        if operation is None or not isinstance(params, Mapping):
            return "an action is not in the catalogue", None
        if finding.cause not in FIXES.get(operation.key, ()):
            return f"{operation.key} does not fix the observed {_label(finding.cause)}", None
        target = str(params.get(operation.target_param, ""))
        if "interface" in params:
            target = f"{target} {params['interface']}"
        if target != finding.name:
            why = f"{operation.key} acts on {target!r}; the fault was observed on {finding.name!r}"
            return why, None
    return "", finding
