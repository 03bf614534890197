"""The Slack app's HTTP ends besides the buttons' (``approvals.views.slack_interactions``):
the slash command's endpoint (Slack's signed POST) and the one-time link's page (people,
signed in)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.errors import ApplicationError
from remediation.approvals.slack import commands, links
from remediation.approvals.slack.verify import slack_enabled


@csrf_exempt  # Slack cannot send a CSRF token; its signature is checked instead
@require_http_methods(["POST"])
def slack_commands(request: HttpRequest) -> JsonResponse:
    """``/remediation``: ``remediation.approvals.slack.commands.command`` verifies and acts."""
    answer = commands.command(
        request.body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
    )
    return JsonResponse(answer.body, status=answer.status)


@login_required
@require_http_methods(["GET", "POST"])
def slack_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: who will act as you, and a button; POST (CSRF-protected): link."""
    if not slack_enabled():
        return render(request, "slack/link.html", {"error": "Slack is not configured."}, status=404)
    user = request.user
    try:
        if request.method == "POST":
            link = links.link_bind(token, user)  # type: ignore[arg-type]
            return render(request, "slack/link.html", {"linked": link})
        offer = links.link_read(token, user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return render(request, "slack/link.html", {"error": exc.message}, status=exc.status_code)
    return render(request, "slack/link.html", {"offer": offer})
