from django.urls import path

from feedback import api

urlpatterns = [
    path("feedback", api.FeedbackCreateApi.as_view(), name="feedback-create"),
]
