from django.urls import path

from remediation import api, stats
from remediation.execution import stats as execution_stats

urlpatterns = [
    path("tickets", api.TicketListCreateApi.as_view(), name="ticket-list"),
    path("tickets/<str:ticket_id>", api.TicketDetailApi.as_view(), name="ticket-detail"),
    path(
        "tickets/<str:ticket_id>/remediation-logs",
        api.TicketLogsApi.as_view(),
        name="ticket-remediation-logs",
    ),
    path("stats/reliability", stats.ReliabilityStatsApi.as_view(), name="stats-reliability"),
    path(
        "stats/auto-remediation",
        execution_stats.AutoRemediationStatsApi.as_view(),
        name="stats-auto-remediation",
    ),
]
