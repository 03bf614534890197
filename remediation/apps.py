import logging

from django.apps import AppConfig
from django.conf import settings

# Importing registers the system checks (remediation.W001). checks.py touches no models, so
# it is safe to import while the app registry is still loading.
from remediation.analysis import checks

logger = logging.getLogger("remediation")


class RemediationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "remediation"

    def ready(self) -> None:
        # The categories a diagnosis files tickets under are in use even before a policy or
        # a ticket names them: a pause of one of them is not a typo.
        from policies.categories import declare_categories
        from remediation.analysis.rules.category import PLATFORM_CATEGORIES

        declare_categories("the diagnosis's platforms", PLATFORM_CATEGORIES.values())
        # A worker process starts its MCP servers' sessions as it starts, not on its first
        # ticket (remediation.connectors.mcp_connector.warm_pooled_sessions).
        from django_q.signals import post_spawn

        from remediation.connectors.mcp_connector import warm_on_spawn

        post_spawn.connect(warm_on_spawn, dispatch_uid="remediation.warm_mcp_sessions")
        # A fix confirmed or refuted, on whichever path, tells the ticket's Slack message
        # (the outbox): tickets sit below notifications, so the wiring is done here.
        from remediation.notifications.services import slack_update_later
        from remediation.tickets.outcomes import announce_with

        announce_with(slack_update_later)
        # `manage.py check` shows remediation.W001, but workers and gunicorn never run it:
        # say it in the log of every process that starts, too. Only with the anthropic
        # analyzer: otherwise the SDK is not even imported.
        if not checks.uses_anthropic():
            return
        model = str(settings.ANTHROPIC_MODEL)
        message = checks.deprecated_model_message(model)
        if message is not None:
            logger.warning(
                "%s Set ANTHROPIC_MODEL to a current model, e.g. %r.",
                message,
                checks.suggest_replacement(model),
            )
