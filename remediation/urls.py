from django.urls import path

from remediation import api, stats
from remediation.alerts import api as alerts_api

urlpatterns = [
    path("tickets", api.TicketListCreateApi.as_view(), name="ticket-list"),
    path("tickets/<str:ticket_id>", api.TicketDetailApi.as_view(), name="ticket-detail"),
    path(
        "tickets/<str:ticket_id>/remediation-logs",
        api.TicketLogsApi.as_view(),
        name="ticket-remediation-logs",
    ),
    path(
        "alerts/alertmanager",
        alerts_api.AlertmanagerWebhookApi.as_view(),
        name="alerts-alertmanager",
    ),
    path("stats/reliability", stats.ReliabilityStatsApi.as_view(), name="stats-reliability"),
]
