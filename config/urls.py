from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz
from config.metrics import metrics
from feedback.inbox import views as inbox_views
from remediation.accounts import views as account_views
from remediation.approvals import urls as approval_urls
from remediation.approvals import views as approval_views
from remediation.approvals.slack import views as slack_views
from remediation.decisions.admin import policy_whatif_view
from remediation.metrics import views as analytics_views

urlpatterns = [
    # The policy what-if page reads tickets, so it lives with the decisions, not the
    # policies app; it is served under the admin with the admin's login.
    path(
        "admin/policies/autoremediationpolicy/<int:policy_id>/whatif/",
        admin.site.admin_view(policy_whatif_view),
        name="policy_whatif",
    ),
    # Sign-in (remediation.accounts.views): the admin's login follows LOCAL_LOGIN_ENABLED.
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/oidc/authenticate/",
        account_views.OidcSignInStart.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "accounts/oidc/callback/",
        account_views.OidcSignInCallback.as_view(),
        name="oidc_authentication_callback",
    ),
    path("", inbox_views.home, name="home"),
    path("inbox/", include("feedback.inbox.urls")),
    # The approval queue is the inbox's approvals; the request pages are the approvals'.
    path(
        "approvals/",
        include(
            (
                [
                    path("", inbox_views.approval_queue, name="queue"),
                    *approval_urls.urlpatterns,
                ],
                approval_urls.app_name,
            )
        ),
    ),
    path("reviews/", include("feedback.reviews.urls")),
    path(
        "integrations/slack/interactions",
        approval_views.slack_interactions,
        name="slack-interactions",
    ),
    path("integrations/slack/commands", slack_views.slack_commands, name="slack-commands"),
    path("integrations/slack/link/<str:token>", slack_views.slack_link, name="slack-link"),
    path("stats/analytics/", analytics_views.analytics, name="analytics"),
    path("stats/", include("remediation.scoring.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A page for people: not logged in, it sends them to the login page (then back).
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/v1/", include("remediation.urls")),
    path("api/v1/", include("feedback.urls")),
    path("api/v1/", include("patterns.urls")),
    path("api/v1/", include("policies.urls")),
]
