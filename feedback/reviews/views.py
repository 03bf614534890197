"""The review queue's pages: ``/reviews/`` and ``/reviews/<ticket_id>/``. Thin: every act
goes through ``feedback.reviews.services`` and the feedback service, as the API does."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.api import contains_control_characters
from config.errors import ApplicationError
from feedback.inbox.rules import REVIEW_PAGE_KINDS
from feedback.inbox.selectors import kind_of
from feedback.models import Review
from feedback.reviews import access, selectors, services
from feedback.verdicts.services import FeedbackInput, feedback_submit
from remediation.approvals.access import may_approve_anything
from remediation.catalogue.rules.operations import CATALOGUE
from remediation.tickets.models import Ticket

PAGE_SIZE = 50


class HandFixForm(forms.Form):
    worked = forms.ChoiceField(
        choices=[("yes", "It is fixed"), ("no", "It is not fixed")], initial="yes"
    )
    operation = forms.ChoiceField(
        required=False,
        choices=[("", "none of these (describe it below)")]
        + [(name, name) for name in sorted(CATALOGUE)],
        help_text="The catalogue operation you ran by hand, if any.",
    )
    target = forms.CharField(max_length=200, required=False, help_text="On what.")
    what_you_did = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="What you did"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("target", "what_you_did"):
            if contains_control_characters(cleaned.get(name) or ""):
                self.add_error(name, "Must not contain NUL bytes or control characters.")
        if cleaned.get("operation") and not (cleaned.get("target") or "").strip():
            self.add_error("target", "Say on what you ran it.")
        return cleaned


class CloseForm(forms.Form):
    reason = forms.CharField(
        max_length=services.MAX_REASON, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"]
        if contains_control_characters(reason):
            raise forms.ValidationError("Must not contain NUL bytes or control characters.")
        return reason


def reviewers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the login page), then allowed (else 403), before anything else."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.may_review(request.user):
            raise PermissionDenied("You may not work the review queue.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@reviewers_only
@require_http_methods(["GET", "HEAD"])
def queue(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.review_queue(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"ticket": t, "why": selectors.why(t), "review": getattr(t, "review", None)} for t in page
    ]
    return render(request, "reviews/queue.html", {"page": page, "rows": rows})


@reviewers_only
@require_http_methods(["GET", "HEAD", "POST"])
def detail(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = Ticket.objects.select_related("submitted_by").filter(ticket_id=ticket_id[:64]).first()
    if ticket is None:
        raise Http404("No such ticket.")
    hand_fix = HandFixForm(request.POST if request.POST.get("act") == "hand_fix" else None)
    close = CloseForm(request.POST if request.POST.get("act") == "close" else None)
    if request.method == "POST":
        act = request.POST.get("act")
        try:
            if act == "take":
                services.review_take(ticket.ticket_id, user=request.user)  # type: ignore[arg-type]
                messages.success(request, "You took it: everyone sees it is yours.")
                return redirect("reviews:detail", ticket_id=ticket.ticket_id)
            if act == "run":
                result = services.review_run(ticket.ticket_id, user=request.user)  # type: ignore[arg-type]
                (messages.success if result.approved else messages.warning)(request, result.message)
                return redirect("reviews:detail", ticket_id=ticket.ticket_id)
            if act == "close" and close.is_valid():
                services.review_close(
                    ticket.ticket_id,
                    user=request.user,  # type: ignore[arg-type]
                    reason=close.cleaned_data["reason"],
                )
                messages.success(request, "Closed: it left the queue.")
                return redirect("reviews:queue")
            if act == "hand_fix" and hand_fix.is_valid():
                refusal = access.may_act_on(request.user, ticket)
                if refusal is not None:
                    raise PermissionDenied(refusal)
                data = hand_fix.cleaned_data
                worked = data["worked"] == "yes"
                taken: list[Any] = []
                if data["operation"]:
                    taken.append({"operation": data["operation"], "system": data["target"].strip()})
                feedback_submit(
                    ticket=ticket,
                    user=request.user,  # type: ignore[arg-type]
                    data=FeedbackInput(
                        feedback_type="positive" if worked else "negative",
                        rating=5 if worked else 2,
                        actions_worked=worked if taken else None,
                        resolution_accurate=None,
                        actual_resolution=data["what_you_did"],
                        actual_actions_taken=taken,
                        comment="Recorded from the review queue",
                    ),
                )
                messages.success(request, "Recorded: it teaches the pattern.")
                return redirect("reviews:detail", ticket_id=ticket.ticket_id)
            if act not in ("take", "run", "close", "hand_fix"):
                messages.error(request, "Unknown action.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("reviews:detail", ticket_id=ticket.ticket_id)
    review = Review.objects.select_related("assignee", "closed_by").filter(ticket=ticket).first()
    return render(
        request,
        "reviews/detail.html",
        {
            "ticket": ticket,
            "review": review,
            "why": selectors.why(ticket),
            "run_refusal": selectors.can_run(ticket),
            "may_run": may_approve_anything(request.user),
            "in_queue": kind_of(ticket) in REVIEW_PAGE_KINDS and not (review and review.closed_at),
            "act_refusal": access.may_act_on(request.user, ticket),
            "hand_fix": hand_fix,
            "close": close,
        },
    )
