from django.urls import path

from feedback.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.page, name="page"),
]
