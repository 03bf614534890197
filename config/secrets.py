"""The project's own secrets, and the environment variables nothing else may borrow.

A connector sends the variable its ``token_env`` names as a bearer token, and a notification
channel hands the variable its ``url_env`` names to Apprise. Both are edited in the admin.
Naming ``SECRET_KEY`` there once sent the key that signs sessions and keys the audit chain
to an arbitrary URL, and wrote it to the log. So the variables the project reads for
itself (every one ``config/settings.py`` reads: a test keeps this list complete) and the
database's own credentials can never be named as a connector's or a channel's credential:
refused by the models' validation (the admin), and again when the row is used (a row
written another way). The values of the secret ones are also blanked out of every log
line (``config.logs.RedactSecretsFilter``).
"""

from __future__ import annotations

import os
import re

# What config/settings.py reads that is a secret (a key, a token, a password, or a URL that
# may carry one).
SECRET_SETTINGS = frozenset(
    {
        "SECRET_KEY",
        "AUDIT_HMAC_KEY",
        "DATABASE_URL",
        "EMAIL_URL",
        "CACHE_URL",
        "THROTTLE_CACHE_URL",
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "ANTHROPIC_API_KEY",
        "OIDC_CLIENT_SECRET",
    }
)
# What config/settings.py reads that is not secret, but is the project's own configuration
# all the same: no connector or channel credential either.
PLAIN_SETTINGS = frozenset(
    {
        "ADMIN_EMAILS", "ALLOWED_HOSTS", "ANALYSIS_FAIR_SHARE", "ANALYSIS_FAIR_WINDOW_SECONDS",
        "ANTHROPIC_BASE_URL", "ANTHROPIC_MAX_RETRIES", "ANTHROPIC_MODEL", "API_TOKEN_TTL_DAYS",
        "AUTO_REMEDIATION_ANALYZER", "AUTO_REMEDIATION_ENABLED",
        "AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR", "AUTO_REMEDIATION_MIN_RELIABILITY",
        "AUTO_REMEDIATION_REQUIRE_APPROVAL", "CONN_HEALTH_CHECKS", "CONN_MAX_AGE",
        "CSRF_TRUSTED_ORIGINS", "DEBUG", "DEFAULT_FROM_EMAIL", "EXECUTION_STALE_SECONDS",
        "EXTRA_READ_ONLY_TOOLS", "INVESTIGATION_ENABLED", "INVESTIGATION_MAX_CALLS",
        "LAB_STATE_PATH", "LOG_FORMAT", "LOG_LEVEL", "MCP_STARTUP_SECONDS", "MCP_STDERR_LOG",
        "OUTCOME_HOLD_SECONDS", "PATTERN_MIN_OCCURRENCES", "PATTERN_MIN_POSITIVE_RATE",
        "PATTERN_MIN_RELIABILITY", "PATTERN_MIN_SUCCESS_RATE", "Q_WORKERS", "SECURE_COOKIES",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_HSTS_SECONDS",
        "PORT", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SITE_URL", "SLACK_API_URL",
        "SLACK_APPROVAL_CHANNEL", "STATIC_ROOT", "STORM_CONTROL_ENABLED", "STORM_WINDOW_SECONDS",
        "THROTTLE_INTAKE_RATE", "TIME_ZONE", "ANTHROPIC_TIMEOUT_SECONDS",
        "CALIBRATION_MIN_OUTCOMES", "INVESTIGATION_MAX_SECONDS", "PATTERN_MIN_SHADOW_AGREEMENT",
        "PATTERN_MIN_SHADOW_DECISIONS", "PATTERN_RELIABILITY_WINDOW", "STORM_MAX_OPEN_SECONDS",
        "STORM_MAX_TICKETS_PER_WINDOW", "REQUEST_BODY_TIMEOUT",
        "INVESTIGATION_PLATFORM_READS",
        # Sign-in (docs/security.md, "Signing in").
        "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_PROVIDER_NAME", "OIDC_SCOPES", "OIDC_GROUPS_CLAIM",
        "OIDC_GROUP_MAP", "OIDC_SESSION_SECONDS", "LOCAL_LOGIN_ENABLED",
    }
)  # fmt: skip
# Secrets of the deployment the project does not read itself: the database's credentials
# (libpq reads PG*), the quickstart administrator's password, the lab's control token.
OTHER_SECRETS = frozenset({"POSTGRES_PASSWORD", "DJANGO_SUPERUSER_PASSWORD", "LAB_CONTROL_TOKEN"})
_RESERVED_PREFIXES = re.compile(r"^(PG|DJANGO_)")
MIN_REDACTED = 8  # shorter values (a flag, a port) are not worth hiding and match too much


def reserved_env_problem(name: str) -> str | None:
    """Why ``name`` may not be named as a connector's or a channel's credential, or None."""
    name = (name or "").strip()
    if not name:
        return None
    upper = name.upper()
    if upper in SECRET_SETTINGS or upper in OTHER_SECRETS or _RESERVED_PREFIXES.match(upper):
        return (
            f"{name} is a secret of this system itself; name a variable that holds only "
            "this credential."
        )
    if upper in PLAIN_SETTINGS:
        return f"{name} is a setting of this system itself, not a credential."
    return None


def secret_values() -> list[str]:
    """The values of the project's secrets as this process has them (for redaction)."""
    from django.conf import settings

    values = {os.environ.get(name, "") for name in SECRET_SETTINGS | OTHER_SECRETS}
    values |= {
        str(getattr(settings, name, "") or "")
        for name in ("SECRET_KEY", "AUDIT_HMAC_KEY", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
    }
    values |= {str(getattr(settings, "ANTHROPIC_API_KEY", "") or "")}
    values |= {str(getattr(settings, "OIDC_CLIENT_SECRET", "") or "")}
    return sorted((v for v in values if len(v) >= MIN_REDACTED), key=len, reverse=True)
