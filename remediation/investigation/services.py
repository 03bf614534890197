"""The investigation: look at the objects a ticket names through read-only tools, before
the analysis decides. Run by the worker outside any database transaction.

For each subject (``rules.subjects_for``) the platform of each kind it may be is asked in
turn with the first listed tool for that kind; the first that knows the name wins, and the
remaining listed tools for that kind are called, then those of its relatives (a VM's host, a
pod's deployment, a deployment's pods, a switch's interfaces), which the listed tools'
``relatives`` name. Only tools in the connector's own list (``investigation_tools``) are
ever called; every call is bounded (``rules.MAX_CALLS``, ``MAX_SECONDS``, the connector's
timeout) and every answer cut to ``MAX_ANSWER_CHARS``.

The result is a JSON record stored with the ticket (``Ticket.investigation``): what was
asked, what came back or failed, when, and how long it took; and a status:

* ``complete`` / ``partial``: the subject was found and observed (partial: some calls failed
  or the budget ran out);
* ``failed``: the platform did not answer: the analysis proposes nothing (a person looks);
* ``not_found``: no platform asked knows the name;
* ``skipped``: nothing to look at (no object named, or no connector lists tools for it):
  the analysis rests on the ticket's words alone and a person must approve.

Answers are untrusted data: stored and read as values, never followed as instructions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from remediation.catalogue.rules import names
from remediation.catalogue.rules.operations import growth_refusal
from remediation.connectors.base import InvestigatingConnector
from remediation.connectors.mcp import ConnectorError, ConnectorTimeout, ToolRefused
from remediation.connectors.models import EVIDENCE_PLATFORMS, fill_args
from remediation.connectors.registry import get_connector
from remediation.connectors.rules.lab_profile import LAB_PROFILE
from remediation.connectors.rules.profiles import (
    OBSERVATIONS,
    answer_key,
    batch_query,
    empty_answer,
    kind_of,
    observations_of,
    owner_of,
    query_entries,
    render_query,
    split_batch,
)
from remediation.investigation.rules.observations import read_observations
from remediation.investigation.rules.subjects import (
    KIND_PLATFORM,
    MAX_CALLS,
    MAX_RELATIVES,
    MAX_SECONDS,
    Subject,
    alert_hints,
    alert_labels,
    subjects_for,
    truncate_answer,
)

logger = logging.getLogger(__name__)

# A refusal that says the platform could not look (as opposed to "no such object here").
_UNAVAILABLE_WORDS = ("unreachable", "unavailable", "timed out", "timeout", "connection")

HOST_KINDS = frozenset({"vm", "host", "instance"})
# A combined query longer than this is asked one query at a time (a GET's URL stays short).
MAX_BATCH_CHARS = 6000

COMPLETE = "complete"
PARTIAL = "partial"
FAILED = "failed"
NOT_FOUND = "not_found"
SKIPPED = "skipped"
OBSERVED_STATUSES = (COMPLETE, PARTIAL)


@dataclass
class _Run:
    started: float
    max_calls: int = MAX_CALLS
    max_seconds: float = MAX_SECONDS
    calls: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exhausted: bool = False
    # The connectors of each kind, looked up once per investigation (a row read and a
    # validated tool list), not once per call: the platform's, then the evidence sources'.
    by_kind: dict[str, list[InvestigatingConnector]] = field(default_factory=dict)

    def connectors(self, kind: str) -> list[InvestigatingConnector]:
        if kind not in self.by_kind:
            self.by_kind[kind] = _connectors(kind)
        return self.by_kind[kind]

    def remaining(self) -> float:
        return self.max_seconds - (time.monotonic() - self.started)

    def budget_left(self) -> bool:
        if len(self.calls) >= self.max_calls or self.remaining() <= 0.05:
            self.exhausted = True
            return False
        return True

    def call(
        self, connector: InvestigatingConnector, tool: str, arguments: dict[str, Any]
    ) -> tuple[Any, str | None, bool]:
        """(answer, error, unavailable): one bounded call, recorded."""
        t0 = time.monotonic()
        record: dict[str, Any] = {
            "n": len(self.calls) + 1,
            "connector": connector.name,
            "tool": tool,
            "arguments": arguments,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        self.calls.append(record)
        answer: Any = None
        error: str | None = None
        unavailable = False
        try:
            answer = connector.observe(tool, arguments, timeout=max(0.1, self.remaining()))
        except ToolRefused as exc:
            error = str(exc)[:300]
            unavailable = any(w in error.lower() for w in _UNAVAILABLE_WORDS)
        except ConnectorTimeout as exc:
            error, unavailable = f"no answer in time ({str(exc)[:200]})", True
        except ConnectorError as exc:
            error, unavailable = f"could not ask ({str(exc)[:200]})", True
        except Exception as exc:  # a connector bug must not break the analysis
            logger.exception("investigation call %s failed", tool)
            error, unavailable = f"could not ask ({exc.__class__.__name__})", True
        record["ms"] = int((time.monotonic() - t0) * 1000)
        record["ok"] = error is None
        if error is not None:
            record["error"] = error
        return answer, error, unavailable


def profile_of(connector: Any, kind: str) -> list[dict[str, Any]]:
    """A connector's profile entries for a kind; the lab's dialect when it declares none."""
    entries = connector.profile_entries(kind) if hasattr(connector, "profile_entries") else []
    if entries or getattr(connector, "profile", None):
        return list(entries)
    return [e for e in LAB_PROFILE["observations"] if kind_of(e["observation"]) == kind]


def _serves(connector: Any, kind: str) -> bool:
    if not isinstance(connector, InvestigatingConnector):
        return False
    return bool(
        connector.investigation_entries(kind) or query_entries(profile_of(connector, kind), kind)
    )


def _connectors(kind: str) -> list[InvestigatingConnector]:
    """Who can show this kind: its platform's connector (unless platform reads are off),
    then the evidence sources (Prometheus) whose profile reads it."""
    found: list[InvestigatingConnector] = []
    if settings.INVESTIGATION_PLATFORM_READS:
        platform = get_connector(KIND_PLATFORM[kind])
        if _serves(platform, kind):
            found.append(platform)  # type: ignore[arg-type]
    for source in EVIDENCE_PLATFORMS:
        connector = get_connector(source)
        if _serves(connector, kind):
            found.append(connector)  # type: ignore[arg-type]
    return found


@dataclass(frozen=True)
class _Ask:
    """One call for one object: a listed tool, or a profile's query."""

    tool: str
    arguments: dict[str, Any]
    key: str  # where its answer is kept on the object
    query: bool
    query_arg: str = ""  # the argument that holds the PromQL query

    def batch_key(self) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
        """Queries with the same tool and other arguments can be asked in one call."""
        rest = tuple(sorted((k, v) for k, v in self.arguments.items() if k != self.query_arg))
        return self.tool, self.query_arg, rest


def _asks(connector: InvestigatingConnector, kind: str, name: str) -> list[_Ask]:
    device, _, interface = name.partition(" ") if kind == "interface" else (name, "", "")
    asks = [
        _Ask(
            e["tool"],
            fill_args(e["args"], name=device, device=device, interface=interface),
            e["tool"],
            False,
        )
        for e in connector.investigation_entries(kind)
    ]
    for entry in query_entries(profile_of(connector, kind), kind):
        try:
            query = render_query(str(entry["query"]), kind, name)
        except ValueError:
            continue
        arguments = fill_args(
            entry["args"], name=name, device=device, interface=interface, query=query
        )
        query_arg = next((k for k, v in entry["args"].items() if v == "{query}"), "")
        asks.append(_Ask(str(entry["tool"]), arguments, answer_key(entry), True, query_arg))
    return asks


def _ask_all(
    run: _Run, connector: InvestigatingConnector, asks: list[_Ask], done: set[int]
) -> dict[int, tuple[Any, str | None]]:
    """The (answer, error) of each ask not ``done`` yet, by index, as far as the budget goes.
    The profile's queries that share a tool are asked in one call (``batch_query``) and
    their answers split back; a combined answer that cannot be split (the server refused the
    combination) is asked again one query at a time."""
    results: dict[int, tuple[Any, str | None]] = {}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for n, ask in enumerate(asks):
        if n not in done and ask.query and ask.query_arg:
            groups.setdefault(ask.batch_key(), []).append(n)
    for members in groups.values():
        if len(members) < 2:
            continue
        first = asks[members[0]]
        combined = batch_query([str(asks[m].arguments[first.query_arg]) for m in members])
        if len(combined) > MAX_BATCH_CHARS or not run.budget_left():
            continue
        answer, error, unavailable = run.call(
            connector, first.tool, {**first.arguments, first.query_arg: combined}
        )
        parts = split_batch(answer, len(members)) if error is None else None
        if parts is not None:
            results.update({m: (part, None) for m, part in zip(members, parts, strict=True)})
        elif unavailable:
            results.update(dict.fromkeys(members, (None, error)))
    for n, ask in enumerate(asks):
        if n in done or n in results:
            continue
        if not run.budget_left():
            break
        answer, error, _ = run.call(connector, ask.tool, ask.arguments)
        results[n] = (answer, error)
    return results


def _observe(
    run: _Run,
    connectors: list[InvestigatingConnector],
    kind: str,
    name: str,
    *,
    role: str,
    of: str = "",
    first: tuple[Any, str | None] | None = None,
) -> dict[str, Any]:
    """Call every listed tool and profile query for one object, of its connector and then
    of the other sources that show its kind (the first call may be done already); record
    it, with the observations each connector's profile reads from the answers."""
    obj: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "platform": KIND_PLATFORM[kind],
        "connector": connectors[0].name,
        "role": role,
        "answers": {},
        "errors": {},
        "observations": {},
    }
    if of:
        obj["of"] = of
    unmapped: list[str] = []
    for c, connector in enumerate(connectors):
        answers: dict[str, Any] = {}
        asks = _asks(connector, kind, name)
        got: dict[int, tuple[Any, str | None]] = {}
        if c == 0 and first is not None and asks:
            got[0] = first
        got.update(_ask_all(run, connector, asks, set(got)))
        for n, ask in enumerate(asks):
            if n not in got:
                continue
            answer, error = got[n]
            if error is not None:
                obj["errors"][ask.key] = error
                continue
            answers[ask.key] = answer
            obj["answers"][ask.key], cut = truncate_answer(answer)
            if cut:
                obj.setdefault("truncated", []).append(ask.key)
        mapped = observations_of(profile_of(connector, kind), answers, kind)
        for key, value in mapped.values.items():
            obj["observations"].setdefault(key, value)
        unmapped.extend(mapped.missing)
        if c > 0:
            obj.setdefault("sources", [connectors[0].name]).append(connector.name)
    unseen = [m for m in dict.fromkeys(unmapped) if m not in obj["observations"]]
    if unseen:
        obj["unmapped"] = unseen
    if not settings.INVESTIGATION_PLATFORM_READS:
        # Evidence sources only: say which observations the rules read for this kind no
        # source asked can show (a person knows what was not looked at).
        readable = {str(e["observation"]) for c in connectors for e in profile_of(c, kind)}
        obj["not_seen"] = [o for o in OBSERVATIONS if kind_of(o) == kind and o not in readable]
    run.objects.append(obj)
    return obj


def _relatives(obj: dict[str, Any], entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, name) of the related objects the answers name, per the listed ``relatives``;
    a pod's deployment as its name says when no answer names it."""
    found: list[tuple[str, str]] = []
    for entry in entries:
        answer = obj["answers"].get(entry["tool"])
        if not isinstance(answer, dict):
            continue
        for kind, fieldname in (entry.get("relatives") or {}).items():
            value = answer.get(fieldname)
            names = (
                list(value)
                if isinstance(value, list | dict)
                else [value]
                if isinstance(value, str)
                else []
            )
            for name in names[:MAX_RELATIVES]:
                if not isinstance(name, str) or not name or len(name) > 253:
                    continue
                if kind == "interface":
                    name = f"{obj['name']} {name}"
                found.append((kind, name))
    if obj["kind"] == "pod" and not any(k == "deployment" for k, _ in found):
        seen = obj.get("observations") or {}
        said = seen.get("pod.owner")
        owner = (
            ("deployment", said)
            if isinstance(said, str) and said
            else owner_of("pod", obj["name"], seen.get("pod.namespace_deployments"))
        )
        if owner is not None:
            found.append(owner)
            seen.setdefault("pod.owner", owner[1])
    return found


def _first_ask(connector: InvestigatingConnector, kind: str, name: str) -> _Ask | None:
    asks = _asks(connector, kind, name)
    return asks[0] if asks else None


def _by_short_name(kind: str, name: str, spellings: set[str]) -> bool:
    """A host-like FQDN whose short name is among the subject's other spellings."""
    short = names.short_host(name)
    return kind in HOST_KINDS and bool(short) and short != name and short in spellings


def _resolve(run: _Run, subject: Subject) -> tuple[dict[str, Any] | None, str]:
    """Find which kind the subject is and observe it: (the object, "" or why not)."""
    refused: list[str] = []
    failures: list[str] = []
    asked = False
    spellings = subject.spellings()
    shorter = {n for n, _ in spellings[1:]}
    for name, kinds in spellings:
        for kind in kinds:
            connectors = run.connectors(kind)
            for n, connector in enumerate(connectors):
                ask = _first_ask(connector, kind, name)
                if ask is None or not run.budget_left():
                    continue
                if ask.query and _by_short_name(kind, name, shorter):
                    # The series match a host by its short name or any FQDN of it: the
                    # object is named as the short spelling, tried next (the name the
                    # platforms and the catalogue's targets use).
                    continue
                asked = True
                answer, error, unavailable = run.call(connector, ask.tool, ask.arguments)
                if error is None and ask.query and empty_answer(answer):
                    error = f"{connector.name} has no series for this {kind}"
                if error is None:
                    obj = _observe(
                        run, connectors[n:], kind, name, role="subject", first=(answer, None)
                    )
                    return obj, ""
                (failures if unavailable else refused).append(f"{kind} {name}: {error}")
        if failures:
            break  # the platform did not answer: another spelling would not help
    if failures:
        return None, FAILED + ": " + "; ".join(failures)
    if refused:
        return None, NOT_FOUND + ": " + "; ".join(refused)
    if not asked:
        wanted = ", ".join(subject.kinds)
        return None, SKIPPED + f": no connector lists investigation tools for {wanted}"
    return None, PARTIAL + ": the investigation budget ran out"


def investigate(
    subjects: list[Subject], *, max_calls: int = MAX_CALLS, max_seconds: float = MAX_SECONDS
) -> dict[str, Any]:
    """Investigate ``subjects``; the JSON record described in the module docstring."""
    run = _Run(time.monotonic(), max_calls=max_calls, max_seconds=max_seconds)
    started_at = datetime.now(UTC)
    status, reason = SKIPPED, "the ticket names no object to look at"
    primary_done = False
    # A ticket's affected system is the one thing it may act on: when it cannot be looked at,
    # no other subject takes its place (they are still looked at, for the record).
    settled = False
    for subject in subjects:
        obj, why = _resolve(run, subject)
        if obj is None:
            run.notes.append(f"{subject.name}: {why}")
            if not primary_done and not settled:
                status, _, reason = why.partition(": ")
                reason = f"{subject.name}: {reason}"
                settled = subject.source == "affected_system"
            continue
        if not primary_done and not settled:
            primary_done, status, reason = True, COMPLETE, ""
            obj["primary"] = True
        _follow(run, obj, subject)
    if not settings.INVESTIGATION_PLATFORM_READS:
        run.notes.append(
            "the platforms' own read tools were not asked (INVESTIGATION_PLATFORM_READS="
            "false): only evidence sources looked; each object says what they could not see"
        )
    if primary_done and (run.exhausted or any(c.get("error") for c in run.calls)):
        status = PARTIAL
        reason = "the investigation budget ran out" if run.exhausted else "some calls failed"
    return {
        "status": status,
        "reason": reason,
        "started_at": started_at.isoformat(timespec="milliseconds"),
        "duration_ms": int((time.monotonic() - run.started) * 1000),
        "subjects": [s.to_dict() for s in subjects],
        "objects": run.objects,
        "calls": run.calls,
        "notes": run.notes,
        "limits": {"max_calls": max_calls, "max_seconds": max_seconds},
    }


def _follow(run: _Run, obj: dict[str, Any], subject: Subject) -> None:
    """Observe the subject's relatives (one level): named interfaces first for a device."""
    connectors = run.connectors(obj["kind"])
    entries = [e for c in connectors for e in c.investigation_entries(obj["kind"])]
    related = _relatives(obj, entries)
    if obj["kind"] == "device" and subject.interfaces:
        named = [("interface", f"{obj['name']} {i}") for i in subject.interfaces]
        related = named + [r for r in related if r[0] != "interface"]
    seen = {(o["kind"], o["name"]) for o in run.objects}
    for kind, name in related[:MAX_RELATIVES]:
        if (kind, name) in seen or not run.budget_left():
            continue
        rel_connectors = run.connectors(kind)
        if not rel_connectors:
            continue
        seen.add((kind, name))
        _observe(run, rel_connectors, kind, name, role="relative", of=obj["name"])


def investigation_failed(reason: str) -> dict[str, Any]:
    """The record of an investigation that could not run at all: nothing was seen, so the
    analysis proposes nothing and a person looks."""
    return {**investigate([]), "status": FAILED, "reason": reason}


def ticket_investigate(ticket: Any) -> dict[str, Any]:
    """Investigate what ``ticket`` names: an alert's labels, its affected system, its text."""
    if not settings.INVESTIGATION_ENABLED:
        record = investigate([])
        record["reason"] = "investigation is switched off (INVESTIGATION_ENABLED=false)"
        return record
    # An alert's labels are data the alert intake stored, never read back from the text.
    labels = alert_labels(getattr(ticket, "alert_labels", None))
    hints = alert_hints(labels) if labels else None
    text = f"{ticket.title}\n{ticket.description}"
    return investigate(
        subjects_for(ticket.affected_system, text, hints),
        max_calls=settings.INVESTIGATION_MAX_CALLS,
        max_seconds=settings.INVESTIGATION_MAX_SECONDS,
    )


def _subject_of(diagnosis: dict[str, Any]) -> tuple[Subject | None, str, str]:
    """The object an observed diagnosis rests on, as a subject to look at again: (subject,
    kind, name), or (None, "", why not)."""
    target = diagnosis.get("observed_target")
    cause = str(diagnosis.get("cause") or "")
    if not isinstance(target, dict) or not cause:
        return None, "", "the observation the action rests on was not recorded"
    kind, name = str(target.get("kind") or ""), str(target.get("name") or "")
    if kind == "interface":
        device, _, interface = name.partition(" ")
        return Subject(device, ("device",), (interface,), "re-check"), kind, name
    if kind in KIND_PLATFORM:
        return Subject(name, (kind,), (), "re-check"), kind, name
    return None, "", f"the observation the action rests on names an unknown kind {kind!r}"


def cause_seen_again(diagnosis: Any) -> bool | None:
    """After a fix: is the cause the analysis observed seen again on the same object? None
    when the diagnosis rests on no observation, or the platform does not answer now."""
    if not isinstance(diagnosis, dict) or diagnosis.get("basis") != "observed":
        return None
    subject, kind, name = _subject_of(diagnosis)
    if subject is None:
        return None
    record = investigate([subject])
    if record["status"] not in OBSERVED_STATUSES:
        return None
    cause = str(diagnosis.get("cause") or "")
    seen = read_observations(record["objects"])
    return any(f.cause == cause and (f.kind, f.name) == (kind, name) for f in seen.findings)


def evidence_recheck(diagnosis: Any, actions: Sequence[Mapping[str, Any]] = ()) -> str:
    """Look again, just before a write, at what justified it: "" when the cause the analysis
    observed is still seen on the same object, else why the write must not happen. A
    capacity action must still add capacity over what the platform shows now (someone may
    have scaled the deployment past the approved count meanwhile).

    Only a diagnosis that rests on observations (``basis`` "observed") can be re-checked; a
    proposal a person approved on the ticket's words alone has nothing to compare (""). A
    platform that does not answer now fails closed."""
    if not isinstance(diagnosis, dict) or diagnosis.get("basis") != "observed":
        return ""
    cause = str(diagnosis.get("cause") or "")
    subject, kind, name = _subject_of(diagnosis)
    if subject is None:
        return name  # why it cannot be looked at
    record = investigate([subject])
    if record["status"] not in OBSERVED_STATUSES:
        return f"could not look again at {name} ({record['reason'] or record['status']})"
    seen = read_observations(record["objects"])
    here = [f for f in seen.findings if (f.kind, f.name) == (kind, name)]
    label = str(diagnosis.get("cause_label") or cause)
    if any(f.cause == cause for f in here):
        now = seen.facts.get(name) or {}
        for action in actions:
            params = action.get("params")
            if isinstance(params, Mapping):
                refusal = growth_refusal(str(action.get("operation")), params, now)
                if refusal:
                    return f"{name}: {refusal}"
        return ""
    if here:
        return f"{name} now shows {here[0].cause} instead of the {label} observed before"
    return f"the {label} observed on {name} before is no longer seen"


# Answer fields every lab answer carries that say nothing about the object.
_META_FIELDS = frozenset({"simulated"})


def check_connector(
    connector: InvestigatingConnector, objects: Mapping[str, str], *, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """What each kind's profile reads from this connector's answers about one known object
    (``objects``, else the profile's ``examples``): per kind, the object asked, the calls,
    what mapped (observation -> value), what the profile expects and did not find, what the
    answers hold that no entry reads, and the calls that failed. What an admin runs when
    plugging in a new MCP server (``manage.py check_connector``)."""
    examples = getattr(connector, "profile", None) or LAB_PROFILE
    known = examples.get("examples", {}) if isinstance(examples, Mapping) else {}
    report: list[dict[str, Any]] = []
    for kind in KIND_PLATFORM:
        if not _serves(connector, kind):
            continue
        name = str(objects.get(kind) or known.get(kind) or "")
        if not name:
            report.append({"kind": kind, "object": "", "skipped": "no known object of this kind"})
            continue
        run = _Run(time.monotonic(), max_calls=64, max_seconds=timeout)
        obj = _observe(run, [connector], kind, name, role="check")
        entries = profile_of(connector, kind)
        expected = list(dict.fromkeys(str(e["observation"]) for e in entries))
        read_fields = {
            (str(e["tool"]), str(e["path"]).split(".", 1)[0])
            for e in entries
            if e.get("query") is None
        }
        unexpected: list[str] = []
        for entry in connector.investigation_entries(kind):
            answer = obj["answers"].get(entry["tool"])
            if isinstance(answer, Mapping):
                unexpected += [
                    f"{entry['tool']}.{key}"
                    for key in answer
                    if (entry["tool"], key) not in read_fields
                    and key not in _META_FIELDS
                    and key not in (entry.get("relatives") or {}).values()
                ]
        for query in query_entries(entries, kind):
            if empty_answer(obj["answers"].get(answer_key(query))):
                unexpected.append(f"{query['observation']}: no series")
        report.append(
            {
                "kind": kind,
                "object": name,
                "calls": len(run.calls),
                "mapped": dict(obj["observations"]),
                "not_mapped": [o for o in expected if o not in obj["observations"]],
                "unexpected": unexpected,
                "errors": dict(obj["errors"]),
            }
        )
    return report
