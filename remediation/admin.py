"""The admin of the ``remediation`` app, kept in the package of the step that owns each model.

Importing a package's ``admin`` registers its pages; this module imports every one.
"""

from remediation.accounts import admin as accounts_admin
from remediation.alerts import admin as alerts_admin
from remediation.analysis import admin as analysis_admin
from remediation.approvals import admin as approvals_admin
from remediation.audit import admin as audit_admin
from remediation.connectors import admin as connectors_admin
from remediation.decisions import admin as decisions_admin
from remediation.execution import admin as execution_admin
from remediation.notifications import admin as notifications_admin
from remediation.tickets import admin as tickets_admin

__all__ = [
    "accounts_admin",
    "alerts_admin",
    "analysis_admin",
    "approvals_admin",
    "audit_admin",
    "connectors_admin",
    "decisions_admin",
    "execution_admin",
    "notifications_admin",
    "tickets_admin",
]
