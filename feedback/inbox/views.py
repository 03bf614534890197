"""The inbox page (``/inbox/``), the landing page after login and what ``/`` leads to, and
the approval queue (``/approvals/``), which is the inbox's approvals. Thin: reads through
``feedback.inbox.selectors``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from feedback.inbox import selectors
from feedback.inbox.forms import InboxFilterForm
from feedback.inbox.rules import KINDS, Kind
from feedback.reviews.access import may_review
from policies.selectors import team_ids_of, teams
from remediation.approvals import access as approval_access
from remediation.approvals.forms import QueueFilterForm

PAGE_SIZE = 50


@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    """``/``: the inbox when logged in, else the login page."""
    if request.user.is_authenticated:
        return redirect("inbox:page")
    return redirect("login")


@login_required
@require_http_methods(["GET", "HEAD"])
def page(request: HttpRequest) -> HttpResponse:
    filters = InboxFilterForm(request.GET or None)
    chosen = selectors.Filters()
    if filters.is_bound and filters.is_valid():
        chosen = selectors.Filters(
            kinds=filters.cleaned_data["kind"],
            category=filters.cleaned_data["category"] or "",
            owner=(filters.cleaned_data["owner"] or "").strip(),
        )
    tickets = selectors.inbox(request.user, chosen)
    paged = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    mine = team_ids_of(request.user)
    counted = selectors.counts(request.user)
    every_team = teams()
    return render(
        request,
        "inbox/inbox.html",
        {
            "items": selectors.items(paged),
            "page": paged,
            "filters": filters,
            "counts": [(k.value, KINDS[k].label, n) for k in Kind if (n := counted.get(k.value))],
            "teams": [t.name for t in every_team],
            "my_teams": [t.name for t in every_team if t.pk in mine],
            "may_approve": approval_access.may_use_approval_pages(request.user),
            "may_review": may_review(request.user),
        },
    )


def _approvers_first(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in, then an approver (else 403), before anything else about the request, the
    HTTP method included (as the other approval pages)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not approval_access.may_use_approval_pages(request.user):
            raise PermissionDenied("You are not an approver.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@_approvers_first
@require_http_methods(["GET", "HEAD"])
def approval_queue(request: HttpRequest) -> HttpResponse:
    """``/approvals/``: the inbox's approvals (its kind filter), with category and risk."""
    filters = QueueFilterForm(request.GET or None)
    category = risk = ""
    if filters.is_bound and filters.is_valid():
        category = filters.cleaned_data["category"] or ""
        risk = filters.cleaned_data["risk"] or ""
    waiting = selectors.inbox(
        request.user, selectors.Filters(kinds=[Kind.APPROVAL], category=category, risk=risk)
    )
    paged = Paginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
    every = selectors.inbox(request.user, selectors.Filters(kinds=[Kind.APPROVAL]))
    counts = dict(
        every.order_by()
        .values_list("category")
        .annotate(n=Count("id"))
        .values_list("category", "n")
    )
    rows = []
    for item in selectors.items(paged):
        decision = item.ticket.remediation_decision or {}
        rows.append(
            {
                "item": item,
                "request": item.ticket.approval_request,
                "ticket": item.ticket,
                "risk": decision.get("risk_level") or "unknown",
                "given": item.approvals_given,
                "minutes_left": item.minutes_left,
                "expired": item.minutes_left == 0 and item.paused is None,
            }
        )
    return render(
        request,
        "approvals/queue.html",
        {
            "rows": rows,
            "page": paged,
            "filters": filters,
            "counts": sorted(counts.items()),
            "total": sum(counts.values()),
        },
    )
