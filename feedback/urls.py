from django.urls import path

from feedback.inbox import api as inbox_api
from feedback.reviews import api as review_api
from feedback.verdicts import api as feedback_api

urlpatterns = [
    path("inbox", inbox_api.InboxApi.as_view(), name="inbox"),
    path("feedback", feedback_api.FeedbackCreateApi.as_view(), name="feedback-create"),
    path("reviews", review_api.ReviewListApi.as_view(), name="review-list"),
    path("reviews/<str:ticket_id>/take", review_api.ReviewTakeApi.as_view(), name="review-take"),
    path("reviews/<str:ticket_id>/run", review_api.ReviewRunApi.as_view(), name="review-run"),
    path("reviews/<str:ticket_id>/close", review_api.ReviewCloseApi.as_view(), name="review-close"),
]
