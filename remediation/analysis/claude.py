"""The ``anthropic`` analyzer: Claude through the anthropic SDK, with forced tool use.

Claude sees the catalogue, the best-matching runbooks and a few similar tickets that were
resolved successfully, and must answer by calling ``submit_resolution``. Its answer is
re-validated with pydantic and then by the catalogue, exactly like any other analyzer's: the
model proposes, it never decides. The ticket (and the history shown beside it) is untrusted
data; it is escaped into delimited tags (``prompt.py``), and the system prompt says it cannot
change the rules. The answer carries a diagnosis (cause, evidence quoted from the ticket,
needs_human): evidence not found in the ticket does not count, needs_human means no action,
every action passes the catalogue's target rule, and a resolution that recommends an
operation not kept is replaced by one written from the diagnosis.
"""

from __future__ import annotations

import re
from typing import Any

import anthropic
import httpx2
from anthropic.types import Message, MessageParam, ToolChoiceToolParam
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediation.analysis.base import AnalysisError, AnalysisResult, TicketText
from remediation.analysis.local import compose_resolution
from remediation.analysis.prompt import (
    MAX_CAUSE,
    MAX_EVIDENCE,
    MAX_QUOTE,
    MAX_RESOLUTION,
    MAX_TOKENS,
    SYSTEM_PROMPT,
    TOOL_NAME,
    build_prompt,
    tool_definition,
)
from remediation.analysis.rules.diagnosis import UNKNOWN, Diagnosis, detect_platform, normalise
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


def _call(client: anthropic.Anthropic, message: str) -> Message:
    messages: list[MessageParam] = [{"role": "user", "content": message}]
    forced: ToolChoiceToolParam = {"type": "tool", "name": TOOL_NAME}
    try:
        return client.messages.create(
            model=str(settings.ANTHROPIC_MODEL),
            max_tokens=MAX_TOKENS,
            system=SYSTEM_PROMPT,
            messages=messages,
            tools=[tool_definition()],
            tool_choice=forced,
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


def _tool_input(message: Any) -> Any:
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
    for block in blocks:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL_NAME:
            return getattr(block, "input", None)
    raise AnalysisError(f"the model did not call {TOOL_NAME}")


def _named_in_ticket(system: str, ticket: TicketText) -> bool:
    haystack = f"{ticket.affected_system}\n{ticket.text[:MAX_TEXT_CHARS]}".casefold()
    return system.casefold() in haystack


def _clean(text: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def _diagnosis(answer: _Answer, ticket: TicketText, platform: str | None) -> Diagnosis:
    """The model's diagnosis, with only the evidence that really is in the ticket."""
    haystack = " ".join(normalise(f"{ticket.title}\n{ticket.description}").split()).casefold()
    quoted = [_clean(q, MAX_QUOTE) for q in answer.evidence]
    evidence = tuple(q for q in quoted if q and q.casefold() in haystack)
    cause = _clean(answer.diagnosis, MAX_CAUSE) or UNKNOWN
    unknown = cause.casefold() in (UNKNOWN, "not established", "none", "")
    established = not unknown and bool(evidence) and not answer.needs_human
    reason = _clean(answer.needs_human_reason, MAX_QUOTE)
    if not established and not reason:
        reason = (
            "the cause is not established"
            if unknown
            else "no quoted evidence for the diagnosis was found in the ticket"
        )
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
        extra={"unverified_evidence": len(quoted) - len(evidence)}
        if len(quoted) > len(evidence)
        else {},
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
        message, runbooks = build_prompt(ticket)
        raw = _tool_input(_call(client, message))
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
        diagnosis = _diagnosis(answer, ticket, platform)
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
            )
            or ""
        )
