"""The models of the ``remediation`` app, each kept in the package of the step that owns it.

Django registers a model when its module is imported; this module imports every one, so the
app's models load together. Code imports a model from its own package, never from here.
"""

from remediation.accounts.models import ApiToken, OidcIdentity
from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.analysis.models import Runbook
from remediation.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    RejectedOperation,
    ShadowAgreement,
)
from remediation.audit.models import AuditEvent
from remediation.connectors.models import PlatformConnector
from remediation.execution.models import CircuitBreaker, Execution, ExecutionStep, RateBudget
from remediation.notifications.models import AdminNotice
from remediation.scoring.models import CalibrationFit
from remediation.tickets.models import (
    CategoryDailyStats,
    IntakeCount,
    StormTrack,
    Ticket,
    TicketRepeat,
)

__all__ = [
    "AdminNotice",
    "AlertMapping",
    "AlertRecord",
    "ApiToken",
    "ApprovalDecision",
    "ApprovalRequest",
    "AuditEvent",
    "CalibrationFit",
    "CategoryDailyStats",
    "CircuitBreaker",
    "Execution",
    "ExecutionStep",
    "IntakeCount",
    "OidcIdentity",
    "PlatformConnector",
    "RateBudget",
    "RejectedOperation",
    "Runbook",
    "ShadowAgreement",
    "StormTrack",
    "Ticket",
    "TicketRepeat",
]
