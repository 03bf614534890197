from django.urls import path

from feedback.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<str:ticket_id>/", views.detail, name="detail"),
]
