from django.urls import path

from feedback import api
from feedback.reviews import api as review_api

urlpatterns = [
    path("feedback", api.FeedbackCreateApi.as_view(), name="feedback-create"),
    path("reviews", review_api.ReviewListApi.as_view(), name="review-list"),
    path("reviews/<str:ticket_id>/take", review_api.ReviewTakeApi.as_view(), name="review-take"),
    path("reviews/<str:ticket_id>/run", review_api.ReviewRunApi.as_view(), name="review-run"),
    path("reviews/<str:ticket_id>/close", review_api.ReviewCloseApi.as_view(), name="review-close"),
]
