from django.urls import path

from remediation import api, stats
from remediation.approvals.api import ApproveRemediationApi

urlpatterns = [
    path("tickets", api.TicketListCreateApi.as_view(), name="ticket-list"),
    path("tickets/<str:ticket_id>", api.TicketDetailApi.as_view(), name="ticket-detail"),
    path(
        "tickets/<str:ticket_id>/remediation-logs",
        api.TicketLogsApi.as_view(),
        name="ticket-remediation-logs",
    ),
    path(
        "tickets/<str:ticket_id>/approve-remediation",
        ApproveRemediationApi.as_view(),
        name="ticket-approve-remediation",
    ),
    path("stats/reliability", stats.ReliabilityStatsApi.as_view(), name="stats-reliability"),
]
