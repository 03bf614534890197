"""What the decision's safety checks ask of the infrastructure behind an action."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from remediation.catalogue import SuggestedAction


@runtime_checkable
class Connector(Protocol):
    """Answers the pre-execution questions about one action's target.

    Each answer is True, False, or None for "cannot tell". The safety checks fail closed:
    None, or an exception raised here, counts as a failed check.
    """

    name: str

    def backup_available(self, action: SuggestedAction) -> bool | None: ...

    def system_healthy(self, action: SuggestedAction) -> bool | None: ...


class UnconfiguredConnector:
    """The default for a platform nobody configured: it knows nothing, so nothing passes."""

    name = "unconfigured"

    def backup_available(self, action: SuggestedAction) -> bool | None:
        return None

    def system_healthy(self, action: SuggestedAction) -> bool | None:
        return None
