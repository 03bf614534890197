from django.urls import path

from remediation.approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("history/", views.history, name="history"),
    path("requests/<str:ticket_id>/", views.detail, name="detail"),
    path("requests/<str:ticket_id>/status", views.status, name="status"),
]
