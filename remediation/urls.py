from django.urls import path, re_path

from remediation.alerts import api as alerts_api
from remediation.approvals.api import ApproveRemediationApi
from remediation.execution import api as execution_stats
from remediation.metrics import api as analytics_api
from remediation.scoring import api as stats
from remediation.tickets import api

# A ticket id in a path has the shape ticket_create accepts (api.TICKET_ID_REGEX); anything
# else (NUL bytes, control characters, 65+ characters) is a JSON 404 before any query.
TICKET = r"(?P<ticket_id>[A-Za-z0-9][A-Za-z0-9._:\-]{0,63})"

urlpatterns = [
    path("tickets", api.TicketListCreateApi.as_view(), name="ticket-list"),
    re_path(rf"^tickets/{TICKET}$", api.TicketDetailApi.as_view(), name="ticket-detail"),
    re_path(
        rf"^tickets/{TICKET}/remediation-logs$",
        api.TicketLogsApi.as_view(),
        name="ticket-remediation-logs",
    ),
    re_path(
        rf"^tickets/{TICKET}/approve-remediation$",
        ApproveRemediationApi.as_view(),
        name="ticket-approve-remediation",
    ),
    path(
        "alerts/alertmanager",
        alerts_api.AlertmanagerWebhookApi.as_view(),
        name="alerts-alertmanager",
    ),
    path("stats/reliability", stats.ReliabilityStatsApi.as_view(), name="stats-reliability"),
    path("stats/calibration", stats.CalibrationStatsApi.as_view(), name="stats-calibration"),
    path("stats/analytics", analytics_api.AnalyticsApi.as_view(), name="stats-analytics"),
    path(
        "stats/auto-remediation",
        execution_stats.AutoRemediationStatsApi.as_view(),
        name="stats-auto-remediation",
    ),
]
