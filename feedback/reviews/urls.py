from django.urls import path

from feedback import review_views

app_name = "reviews"

urlpatterns = [
    path("", review_views.queue, name="queue"),
    path("<str:ticket_id>/", review_views.detail, name="detail"),
]
