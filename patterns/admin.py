"""The Pattern admin is registered in ``feedback/admin.py``.

Its enable/disable action must write the audit trail (``remediation.AuditEvent``) in the
same transaction, and this app may not import ``remediation`` (import-linter contract), so
the admin lives in the top layer, which may.
"""
