from django.urls import path

from remediation.scoring import views

app_name = "stats"

urlpatterns = [
    path("calibration/", views.calibration, name="calibration"),
]
