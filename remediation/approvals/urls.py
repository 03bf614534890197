from django.urls import path

from remediation.approvals import views

app_name = "approvals"

# The queue itself ("", name "queue") is the inbox's approvals: config/urls.py adds it from
# feedback.inbox.views (the inbox reads the review queue too, which is above this app).
urlpatterns = [
    path("history/", views.history, name="history"),
    path("requests/<str:ticket_id>/", views.detail, name="detail"),
    path("requests/<str:ticket_id>/status", views.status, name="status"),
]
