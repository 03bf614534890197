from django.urls import path

from patterns import api

urlpatterns = [
    path("patterns", api.PatternListApi.as_view(), name="pattern-list"),
]
