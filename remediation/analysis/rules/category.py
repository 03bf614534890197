"""The category of the platform a diagnosis observed its cause on. Pure: no Django.

An Alertmanager alert that names no category (no ``category`` label) gets its mapping's
default, ``server`` for the seeded ``instance`` mapping, whatever the instance is: a switch
port's alert would then be judged by the server policy, which does not allow network
operations. Once the analysis has observed the cause on a platform's object, the ticket is
filed under that platform's category instead (``remediation.analysis.services``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediation.analysis.rules.evidence import OBSERVED

# The category of each platform of the catalogue; the seeded policies and alert mappings
# use these names (virtual machines and cloud instances are servers).
PLATFORM_CATEGORIES = {
    "vmware": "server",
    "openstack": "server",
    "kubernetes": "kubernetes",
    "network": "network",
    "storage": "storage",
}


def diagnosed_category(diagnosis: Mapping[str, Any] | None) -> str | None:
    """The category of the platform the diagnosis established its cause on, from what was
    observed (not from the ticket's words); None when it did not, or the platform has none."""
    if not isinstance(diagnosis, Mapping) or diagnosis.get("established") is not True:
        return None
    if diagnosis.get("basis") != OBSERVED:
        return None
    return PLATFORM_CATEGORIES.get(str(diagnosis.get("platform") or ""))
