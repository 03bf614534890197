"""What every analyzer takes and returns, and the one error it may raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from patterns.rules.signature import cause_signature, signature_for
from remediation.analysis.rules.diagnosis import Diagnosis
from remediation.analysis.rules.pattern_key import pattern_key
from remediation.catalogue.rules.operations import SuggestedAction


@dataclass(frozen=True)
class TicketText:
    """The parts of a ticket an analyzer reads. All of it is untrusted text."""

    title: str
    description: str
    category: str = ""
    affected_system: str = ""
    ticket_id: str = ""
    severity: str = ""
    # What the investigation saw before the analysis (``remediation.investigation``); None
    # when none ran. Its answers are untrusted data too.
    investigation: Mapping[str, Any] | None = None

    @classmethod
    def from_ticket(cls, ticket: Any, investigation: Mapping[str, Any] | None = None) -> TicketText:
        """From a ``remediation.models.Ticket`` (or anything with the same attributes)."""
        return cls(
            title=ticket.title,
            description=ticket.description,
            category=ticket.category,
            affected_system=ticket.affected_system,
            ticket_id=ticket.ticket_id,
            severity=ticket.severity,
            investigation=investigation,
        )

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.description}"

    def pattern_hash(self, diagnosis: Mapping[str, Any] | None) -> str:
        """The hash of the pattern this ticket belongs to with this diagnosis (what
        ``pattern_observe`` stores): keyed on the cause when one is established, else on
        the words."""
        key = pattern_key(diagnosis)
        if key is None:
            return signature_for(self.category, self.title, self.description).hash
        return cause_signature(
            self.category, cause=key.cause, kind=key.kind, operation=key.operation
        ).hash


@dataclass(frozen=True)
class AnalysisResult:
    resolution: str
    actions: list[SuggestedAction]
    dropped: list[str]
    confidence: float
    analyzer: str
    # Names of the runbooks the analysis drew on (shown to people, useful in the audit log).
    runbooks: list[str] = field(default_factory=list)
    # The cause believed, its evidence, what was ruled out and whether a person is needed.
    diagnosis: Diagnosis | None = None

    @property
    def diagnosis_dict(self) -> dict[str, Any] | None:
        """The JSON stored in ``Ticket.diagnosis``."""
        return self.diagnosis.to_dict() if self.diagnosis is not None else None

    @property
    def suggested_actions(self) -> list[dict[str, Any]]:
        """The JSON stored in ``Ticket.suggested_actions``."""
        return [a.to_dict() for a in self.actions]


class AnalysisError(Exception):
    """The analyzer could not produce a trustworthy result; the ticket goes to manual review.

    ``retryable`` says whether the same request may well succeed later (rate limit,
    overload, timeout, network) as opposed to a permanent failure (refusal, bad answer,
    missing key).
    """

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Analyzer(Protocol):
    name: str

    def analyze(self, ticket: TicketText) -> AnalysisResult: ...
