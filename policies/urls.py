from django.urls import path

from policies import api

urlpatterns = [
    path("kill-switch", api.KillSwitchApi.as_view(), name="kill-switch"),
]
