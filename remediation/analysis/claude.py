"""The ``anthropic`` analyzer: Claude through the anthropic SDK, with tool use.

Claude sees the catalogue, the best-matching runbooks, a few similar tickets that were
resolved successfully and what the investigation observed, and must answer by calling
``submit_resolution``. Its answer is re-validated with pydantic and then by the catalogue,
exactly like any other analyzer's: the model proposes, it never decides. The ticket, the
history and the investigation are untrusted data; they are escaped into delimited tags
(``prompt.py``), and the system prompt says they cannot change the rules. The answer carries
a diagnosis (cause, evidence quoted from the ticket or from what was observed, needs_human):
evidence found in none of them does not count, needs_human means no action, every action
passes the catalogue's target rule (a target must be named by the ticket, never only by a
platform's answer), and a resolution that recommends an operation not kept is replaced by
one written from the diagnosis.

Claude investigates too (when the investigation is switched on): it is offered the
connectors' own listed read-only tools (``investigation_entries``), one Anthropic tool per
listed tool, and nothing else: a catalogue operation's name is never offered even if a
connector lists it. The loop is bounded (``MAX_TOOL_ROUNDS`` rounds, ``MAX_TOOL_CALLS``
calls, ``MAX_TOOL_SECONDS`` for all of them); each call goes through the connector's
``observe`` with a timeout; a call to anything not offered, with bad arguments or over the
budget gets an error result and is never made. Results go back fenced as untrusted data and
cut to size; on the last round Claude is forced to submit. What it asked and got is kept in
the diagnosis (``model_calls``), for people to read.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import anthropic
import httpx2
from anthropic.types import (
    ContentBlockParam,
    Message,
    MessageParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediation.analysis.base import AnalysisError, AnalysisResult, TicketText
from remediation.analysis.local import compose_resolution
from remediation.analysis.prompt import (
    MAX_ARGUMENT_CHARS,
    MAX_CAUSE,
    MAX_EVIDENCE,
    MAX_QUOTE,
    MAX_RESOLUTION,
    MAX_TOKENS,
    MAX_TOOL_CALLS,
    MAX_TOOL_ROUNDS,
    SYSTEM_PROMPT,
    TOOL_NAME,
    as_text,
    build_prompt,
    investigation_view,
    read_tool_definition,
    shown_answer,
    tool_definition,
    tool_result_text,
)
from remediation.analysis.rules.diagnosis import UNKNOWN, Diagnosis, detect_platform, normalise
from remediation.analysis.rules.evidence import related_objects
from remediation.analysis.rules.matching import MAX_TEXT_CHARS
from remediation.catalogue.rules.operations import (
    CATALOGUE,
    MAX_SUGGESTIONS,
    Platform,
    SuggestedAction,
    validate_suggestions,
)
from remediation.catalogue.rules.targets import (
    ObjectRef,
    classify_name,
    find_objects,
    parse_affected,
    target_refusal,
)
from remediation.connectors.base import InvestigatingConnector
from remediation.connectors.mcp import ConnectorError, ConnectorTimeout, ToolRefused
from remediation.connectors.models import ARG_PLACEHOLDERS, fill_args
from remediation.connectors.registry import get_connector
from remediation.investigation.rules.subjects import KIND_PLATFORM, truncate_answer

logger = logging.getLogger(__name__)

# Claude's read-only calls: seconds for all of them, seconds for one, characters of one
# answer kept in the diagnosis's record, tools offered at most.
MAX_TOOL_SECONDS = 20.0
OBSERVE_TIMEOUT_SECONDS = 8.0
MAX_RECORDED_ANSWER_CHARS = 2000
MAX_READ_TOOLS = 32
# A quote matched against observed data must say something (not "red" alone).
MIN_OBSERVED_QUOTE = 6

# The names the Messages API accepts for a tool; an argument and an object's name.
_OFFERABLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_OBJECT_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:/@-]{{0,{MAX_ARGUMENT_CHARS - 1}}}$")
# JSON punctuation ignored when a quote is looked for in observed data.
_JSON_PUNCTUATION = re.compile(r'[\\"{}\[\],]')
_COLON = re.compile(r"\s*:\s*")

# When every action Claude proposed was refused, its confidence was about something we
# will not do: halve it (the same factor the local analyzer uses for an unusable match).
ALL_DROPPED_FACTOR = 0.5

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def build_client(*, http_client: httpx2.Client | None = None) -> anthropic.Anthropic:
    """The one place an Anthropic client is made (tests pass an ``httpx2.MockTransport``)."""
    if not settings.ANTHROPIC_API_KEY:
        # Without a key the SDK constructs fine and fails on the first request with a
        # TypeError; say what is wrong instead.
        raise AnalysisError("ANTHROPIC_API_KEY is not set; the anthropic analyzer cannot run")
    return anthropic.Anthropic(
        api_key=settings.ANTHROPIC_API_KEY,
        # None: the SDK's default endpoint; a URL: a gateway or proxy in front of it.
        base_url=settings.ANTHROPIC_BASE_URL or None,
        timeout=float(settings.ANTHROPIC_TIMEOUT_SECONDS),
        max_retries=int(settings.ANTHROPIC_MAX_RETRIES),
        http_client=http_client,
    )


class _ProposedAction(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    # A plain string, not the enum: an operation outside the catalogue is dropped and named
    # by validate_suggestions rather than failing the whole answer.
    operation: str
    system: str
    params: dict[str, Any]
    action: str = ""


class _Answer(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    resolution: str = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)
    diagnosis: str = Field(min_length=1, max_length=MAX_CAUSE)
    evidence: list[str] = Field(max_length=MAX_EVIDENCE)
    ruled_out: list[str] = Field(default_factory=list, max_length=MAX_EVIDENCE)
    needs_human: bool
    needs_human_reason: str = Field(default="", max_length=MAX_QUOTE)
    suggested_actions: list[_ProposedAction] = Field(max_length=MAX_SUGGESTIONS)


def _call(
    client: anthropic.Anthropic,
    messages: list[MessageParam],
    tools: list[ToolParam],
    tool_choice: ToolChoiceParam,
) -> Message:
    try:
        return client.messages.create(
            model=str(settings.ANTHROPIC_MODEL),
            max_tokens=MAX_TOKENS,
            system=SYSTEM_PROMPT,
            messages=messages,
            tools=tools,
            tool_choice=tool_choice,
        )
    except anthropic.RateLimitError as exc:
        raise AnalysisError("Anthropic API rate limit reached (429)", retryable=True) from exc
    except anthropic.APITimeoutError as exc:
        raise AnalysisError(
            f"Anthropic API timed out (after {settings.ANTHROPIC_TIMEOUT_SECONDS}s)", retryable=True
        ) from exc
    except anthropic.APIConnectionError as exc:
        raise AnalysisError("Anthropic API could not be reached", retryable=True) from exc
    except anthropic.InternalServerError as exc:
        raise AnalysisError(
            f"Anthropic API server error ({exc.status_code})", retryable=True
        ) from exc
    except anthropic.APIStatusError as exc:
        raise AnalysisError(f"Anthropic API refused the request ({exc.status_code})") from exc
    except anthropic.AnthropicError as exc:
        raise AnalysisError(
            f"Anthropic API answer could not be read: {type(exc).__name__}"
        ) from exc


def _tool_uses(message: Any) -> list[Any]:
    """The tool calls of a checked answer (in order)."""
    # The SDK hands back the raw text when the body is not JSON (a proxy's error page), and
    # builds a Message without validating it: check the shape before trusting it.
    if not isinstance(message, Message):
        raise AnalysisError("the answer is not a Messages API response")
    if message.stop_reason == "refusal":
        raise AnalysisError("the model refused to analyse the ticket")
    if message.stop_reason == "max_tokens":
        raise AnalysisError("the model's answer was cut off (max_tokens)")
    if message.stop_reason not in ("tool_use", "end_turn"):
        raise AnalysisError(f"unexpected stop_reason {str(message.stop_reason)[:40]!r}")
    blocks = message.content if isinstance(message.content, list) else []
    return [b for b in blocks if getattr(b, "type", None) == "tool_use"]


def _echo(message: Message) -> list[ContentBlockParam]:
    """The assistant's turn as it is sent back (text and tool calls; nothing else is used)."""
    blocks: list[ContentBlockParam] = []
    for block in message.content:
        kind = getattr(block, "type", None)
        if kind == "text":
            blocks.append({"type": "text", "text": str(getattr(block, "text", ""))})
        elif kind == "tool_use":
            given = getattr(block, "input", None)
            call: ToolUseBlockParam = {
                "type": "tool_use",
                "id": str(getattr(block, "id", "")),
                "name": str(getattr(block, "name", "")),
                "input": given if isinstance(given, dict) else {},
            }
            blocks.append(call)
    return blocks


@dataclass(frozen=True)
class ReadTool:
    """One listed read-only tool offered to Claude: whose it is, for which kinds, and its
    argument template (argument name -> placeholder)."""

    name: str
    connector: InvestigatingConnector
    kinds: tuple[str, ...]
    args: Mapping[str, str]

    def definition(self) -> ToolParam:
        return read_tool_definition(self.name, self.args, self.kinds)

    def arguments(self, given: Any) -> tuple[dict[str, str] | None, str]:
        """The call's arguments, filled from the template (None and why when they are bad)."""
        if not isinstance(given, dict) or set(given) != set(self.args):
            return None, f"the arguments must be exactly: {', '.join(self.args)}"
        values: dict[str, str] = {}
        for arg, placeholder in self.args.items():
            value = given[arg]
            if not isinstance(value, str) or not _OBJECT_NAME.fullmatch(value):
                return None, f"{arg} must be an object's name"
            if values.setdefault(placeholder, value) != value:
                return None, f"{arg} disagrees with another argument naming the same object"
        name = values.get("{name}") or values.get("{device}", "")
        filled = fill_args(
            self.args,
            name=name,
            device=values.get("{device}", ""),
            interface=values.get("{interface}", ""),
        )
        return filled, ""


def _listed(entry: Any) -> tuple[str, dict[str, str]] | None:
    """(tool, args) of a listed entry that may be offered; None for anything else."""
    if not isinstance(entry, Mapping):
        return None
    tool, args = entry.get("tool"), entry.get("args")
    if not isinstance(tool, str) or not _OFFERABLE_NAME.fullmatch(tool):
        return None
    # Defence in depth: a write operation's name is never offered, whatever a list says.
    if tool in CATALOGUE or tool == TOOL_NAME:
        logger.warning("a connector lists %r as a read-only tool: not offered", tool)
        return None
    if not isinstance(args, Mapping) or not all(
        isinstance(k, str) and _ARG_NAME.fullmatch(k) and v in ARG_PLACEHOLDERS
        for k, v in args.items()
    ):
        return None
    return tool, dict(args)


def _same_tool(known: ReadTool, connector: Any, args: dict[str, str], kind: str) -> bool:
    return known.connector is connector and known.args == args and kind not in known.kinds


def read_tools() -> dict[str, ReadTool]:
    """The read-only tools Claude may call: the connectors' listed investigation tools for
    every kind an investigation looks at (none when the investigation is switched off)."""
    if not settings.INVESTIGATION_ENABLED:
        return {}
    found: dict[str, ReadTool] = {}
    connectors: dict[str, Any] = {}
    for kind, platform in KIND_PLATFORM.items():
        if platform not in connectors:
            connectors[platform] = get_connector(platform)
        connector = connectors[platform]
        if not isinstance(connector, InvestigatingConnector):
            continue
        try:
            entries = connector.investigation_entries(kind)
        except Exception:  # a connector bug must not break the analysis
            logger.exception("investigation_entries(%r) failed", kind)
            continue
        for entry in entries if isinstance(entries, list) else []:
            listed = _listed(entry)
            if listed is None:
                continue
            tool, args = listed
            known = found.get(tool)
            if known is None and len(found) < MAX_READ_TOOLS:
                found[tool] = ReadTool(tool, connector, (kind,), args)
            elif known is not None and _same_tool(known, connector, args, kind):
                # The same tool of the same connector for another kind: one definition.
                found[tool] = replace(known, kinds=(*known.kinds, kind))
            # The same name from another connector, or other arguments: the first is kept.
    return found


@dataclass
class _Looking:
    """Claude's read-only calls in one analysis: the budget, the record, what was seen."""

    tools: dict[str, ReadTool]
    started: float = field(default_factory=time.monotonic)
    made: int = 0
    record: list[dict[str, Any]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def spent(self) -> bool:
        return self.made >= MAX_TOOL_CALLS or self._remaining() <= 0.05

    def _remaining(self) -> float:
        return MAX_TOOL_SECONDS - (time.monotonic() - self.started)

    def answer(self, block: Any, round_: int) -> ToolResultBlockParam:
        """Run (or refuse) one tool call; the tool_result Claude reads."""
        name = _clean(str(getattr(block, "name", "")), 64)
        given = getattr(block, "input", None)
        entry: dict[str, Any] = {"n": len(self.record) + 1, "round": round_, "tool": name}
        entry["arguments"] = (
            {str(k)[:64]: _clean(str(v), MAX_ARGUMENT_CHARS) for k, v in list(given.items())[:8]}
            if isinstance(given, dict)
            else _clean(str(given), 200)
        )
        self.record.append(entry)
        answer, error, refused = self._run(name, given, entry)
        entry["ok"] = error is None
        if error is not None:
            entry["error"] = error
        if refused:
            entry["refused"] = True
        elif error is None:
            entry["answer"] = truncate_answer(answer, MAX_RECORDED_ANSWER_CHARS)[0]
            self.seen.append(shown_answer(answer))
        content = (
            f"Refused: {html.escape(error, quote=False)}"
            if refused and error is not None
            else tool_result_text(name, answer=answer, error=error)
        )
        return {
            "type": "tool_result",
            "tool_use_id": str(getattr(block, "id", "")),
            "content": content,
            "is_error": error is not None,
        }

    def _run(self, name: str, given: Any, entry: dict[str, Any]) -> tuple[Any, str | None, bool]:
        """(answer, error, refused): refused means nothing was asked of any platform."""
        tool = self.tools.get(name)
        if tool is None:
            what = "a write operation" if name in CATALOGUE else "not an offered tool"
            return None, f"{name!r} is {what}; only the offered read-only tools can be called", True
        if self.spent():
            return None, f"the budget of {MAX_TOOL_CALLS} read-only calls is spent", True
        arguments, why = tool.arguments(given)
        if arguments is None:
            return None, why, True
        self.made += 1
        entry["connector"] = str(getattr(tool.connector, "name", ""))[:100]
        entry["arguments"] = arguments
        t0 = time.monotonic()
        try:
            timeout = max(0.1, min(OBSERVE_TIMEOUT_SECONDS, self._remaining()))
            return tool.connector.observe(name, arguments, timeout=timeout), None, False
        except ToolRefused as exc:
            return None, str(exc)[:300], False
        except ConnectorTimeout as exc:
            return None, f"no answer in time ({str(exc)[:200]})", False
        except ConnectorError as exc:
            return None, f"could not ask ({str(exc)[:200]})", False
        except Exception as exc:  # a connector bug must not break the analysis
            logger.exception("read-only call %s failed", name)
            return None, f"could not ask ({exc.__class__.__name__})", False
        finally:
            entry["ms"] = int((time.monotonic() - t0) * 1000)


def _converse(client: anthropic.Anthropic, message: str, looking: _Looking) -> Any:
    """Ask Claude, run the read-only calls it makes (bounded), and return what it submits."""
    messages: list[MessageParam] = [{"role": "user", "content": message}]
    tools = [tool_definition()] + [t.definition() for t in looking.tools.values()]
    forced: ToolChoiceParam = {"type": "tool", "name": TOOL_NAME}
    for round_ in range(1, MAX_TOOL_ROUNDS + 2):
        last = not looking.tools or round_ > MAX_TOOL_ROUNDS or looking.spent()
        choice: ToolChoiceParam = forced if last else {"type": "any"}
        reply = _call(client, messages, tools, choice)
        uses = _tool_uses(reply)
        submitted = next((b for b in uses if getattr(b, "name", None) == TOOL_NAME), None)
        if submitted is not None:
            return getattr(submitted, "input", None)
        if last or not uses:
            break
        messages.append({"role": "assistant", "content": _echo(reply)})
        messages.append({"role": "user", "content": [looking.answer(b, round_) for b in uses]})
    raise AnalysisError(f"the model did not call {TOOL_NAME}")


def _flat(text: str) -> str:
    """Text compared without case, JSON punctuation or spacing (quotes of observed data)."""
    bare = _JSON_PUNCTUATION.sub(" ", html.unescape(text))
    return " ".join(_COLON.sub(": ", bare).casefold().split())


def _observed_text(investigation: Mapping[str, Any] | None, seen: list[str]) -> str:
    """What was observed, flattened: the investigation's answers and Claude's tool results."""
    view = investigation_view(investigation) or {"objects": []}
    answers = [as_text(o.get("answers", {})) for o in view["objects"]]
    return _flat("\n".join([*answers, *seen]))


def _named_in_ticket(system: str, ticket: TicketText) -> bool:
    haystack = f"{ticket.affected_system}\n{ticket.text[:MAX_TEXT_CHARS]}".casefold()
    return system.casefold() in haystack


def _clean(text: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def _evidence(quotes: list[str], ticket: TicketText, observed: str) -> tuple[str, ...]:
    """The quotes really found: in the ticket as they are, in what was observed (the
    investigation's answers, Claude's tool results) marked ``observed:``."""
    haystack = " ".join(normalise(f"{ticket.title}\n{ticket.description}").split()).casefold()
    found: list[str] = []
    for quote in quotes:
        if not quote:
            continue
        if quote.casefold() in haystack:
            found.append(quote)
        elif len(flat := _flat(quote)) >= MIN_OBSERVED_QUOTE and flat in observed:
            found.append(f"observed: {quote}")
    return tuple(found)


def _diagnosis(
    answer: _Answer, ticket: TicketText, platform: str | None, observed: str = ""
) -> Diagnosis:
    """The model's diagnosis, with only the evidence that really is in the ticket or in
    what was observed."""
    quoted = [_clean(q, MAX_QUOTE) for q in answer.evidence]
    evidence = _evidence(quoted, ticket, observed)
    cause = _clean(answer.diagnosis, MAX_CAUSE) or UNKNOWN
    unknown = cause.casefold() in (UNKNOWN, "not established", "none", "")
    established = not unknown and bool(evidence) and not answer.needs_human
    reason = _clean(answer.needs_human_reason, MAX_QUOTE)
    if not established and not reason:
        reason = (
            "the cause is not established"
            if unknown
            else "no quoted evidence for the diagnosis was found in the ticket "
            "or in what was observed"
        )
    unverified = sum(1 for q in quoted if q) - len(evidence)
    return Diagnosis(
        cause=UNKNOWN if unknown else cause,
        cause_label="not established" if unknown else cause,
        established=established,
        confidence=round(answer.confidence, 3),
        platform=platform,
        evidence=evidence,
        ruled_out=tuple(_clean(r, MAX_QUOTE) for r in answer.ruled_out if r.strip()),
        needs_human=not established,
        needs_human_reason="" if established else reason,
        extra={"unverified_evidence": unverified} if unverified > 0 else {},
    )


def _mentions(resolution: str, operation: str) -> bool:
    op = CATALOGUE[operation]
    text = resolution.casefold()
    return operation in text or op.summary.casefold() in text


class ClaudeAnalyzer:
    name = "anthropic"

    def __init__(self, client: anthropic.Anthropic | None = None) -> None:
        self._client = client

    def analyze(self, ticket: TicketText) -> AnalysisResult:
        client = self._client or build_client()
        looking = _Looking(read_tools())
        message, runbooks = build_prompt(ticket, tools_offered=bool(looking.tools))
        raw = _converse(client, message, looking)
        try:
            answer = _Answer.model_validate(raw)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "answer" for e in exc.errors())
            raise AnalysisError(f"the model's answer is malformed ({fields[:200]})") from exc
        affected = parse_affected(ticket.affected_system)
        platform = detect_platform(
            normalise(ticket.text),
            ticket.category,
            affected.platform.value if affected and affected.platform else None,
        )
        diagnosis = _diagnosis(
            answer, ticket, platform, _observed_text(ticket.investigation, looking.seen)
        )
        if looking.record:
            diagnosis = replace(diagnosis, extra={**diagnosis.extra, "model_calls": looking.record})
        proposed = [a.model_dump() for a in answer.suggested_actions]
        actions, dropped = validate_suggestions(proposed)
        objects = find_objects(ticket.text)
        kept = []
        for action in actions:
            reason = self._refusal(action, ticket, affected, objects, platform, diagnosis)
            if reason:
                dropped.append(f"{action.operation} on {action.system!r} dropped: {reason}")
            else:
                kept.append(action)
        confidence = answer.confidence
        if proposed and not kept:
            confidence *= ALL_DROPPED_FACTOR
        if not kept:
            confidence = min(confidence, diagnosis.confidence if diagnosis.established else 0.0)
        resolution = _CONTROL.sub(" ", answer.resolution)[:MAX_RESOLUTION].strip()
        proposed_ops = {a.operation for a in kept}
        contradicting = [
            op for op in CATALOGUE if op not in proposed_ops and _mentions(resolution, op)
        ]
        if contradicting or not kept:
            # The model's prose recommends something that is not proposed (or nothing is):
            # people read a resolution written from the diagnosis and what was kept instead.
            resolution = compose_resolution(diagnosis, kept, dropped, None)
        elif dropped:
            resolution += "\n\nNot proposed: " + " | ".join(dropped[:5])
        return AnalysisResult(
            resolution=resolution,
            actions=kept,
            dropped=dropped,
            confidence=round(confidence, 3),
            analyzer=self.name,
            runbooks=runbooks,
            diagnosis=diagnosis
            if kept
            else diagnosis.with_human(
                diagnosis.needs_human_reason or "no proposed action could be kept"
            ),
        )

    @staticmethod
    def _refusal(
        action: SuggestedAction,
        ticket: TicketText,
        affected: ObjectRef | None,
        objects: list[ObjectRef],
        platform: str | None,
        diagnosis: Diagnosis,
    ) -> str:
        if not diagnosis.established:
            return f"the cause is not established ({diagnosis.needs_human_reason})"
        if not _named_in_ticket(action.system, ticket):
            # A target the ticket never names is invented (or injected through history).
            return "the ticket does not name that system"
        operation = CATALOGUE[action.operation]
        ref = next((o for o in objects if o.name == action.system), None)
        if ref is None and affected is not None and affected.name == action.system:
            ref = affected
        if ref is None:
            spec = operation.param(operation.target_param)
            ref = classify_name(action.system, hint=spec.kind if spec else None)
        if ref is None:
            return "the target is not a recognisable object"
        return (
            target_refusal(
                operation,
                ref,
                platform=Platform(platform) if platform else None,
                affected=affected,
                related=related_objects(ticket.investigation),
            )
            or ""
        )
