"""The approval pages: request, history (the queue, ``/approvals/``, is the inbox's
approvals: ``feedback.inbox.views.approval_queue``). Thin: reads through selectors,
decisions through the same services as the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.errors import ApplicationError
from remediation.approvals import access, selectors, services, slack
from remediation.approvals.forms import DecisionForm
from remediation.approvals.models import ApprovalChannel, ApprovalRequest, ApprovalStatus
from remediation.catalogue.rules.operations import ActionType, get_operation
from remediation.connectors.models import PlatformConnector
from remediation.tickets.models import TicketStatus
from remediation.tickets.selectors import alert_note, ticket_audit_trail

DECIDED = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)
PAGE_SIZE = 50
# Whether a target is the bundled simulated lab or a real system: the platform's connector
# knows (the page says so plainly: docs/approvals.md).
LAB_LABEL = "simulated lab"
CRITICAL_WRITE = str(ActionType.CRITICAL_WRITE)


def approvers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first, then be an approver (or see every ticket); checked before anything
    else about the request, the HTTP method included."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.may_use_approval_pages(request.user):
            raise PermissionDenied("You are not an approver.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _row(req: ApprovalRequest, now: Any) -> dict[str, Any]:
    ticket = req.ticket
    decision = ticket.remediation_decision or {}
    left = (req.expires_at - now).total_seconds()
    return {
        "request": req,
        "ticket": ticket,
        "risk": decision.get("risk_level") or "unknown",
        "given": len(selectors.counting_approvers(req, ticket, selectors.current_digest(ticket)))
        if req.status == ApprovalStatus.PENDING
        else None,
        "minutes_left": max(0, int(left // 60)),
        "expired": left <= 0,
    }


@approvers_only
@require_http_methods(["GET", "HEAD"])
def history(request: HttpRequest) -> HttpResponse:
    decided = selectors.request_list(
        access.visible_requests(request.user), statuses=DECIDED
    ).order_by("-decided_at", "-id")
    page = Paginator(decided.prefetch_related("decisions__approver"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "approvals/history.html", {"page": page})


def _target_label(connector: PlatformConnector | None) -> str:
    if connector is None or not connector.enabled:
        return "no connector configured: it cannot run"
    if connector.simulated:
        return LAB_LABEL
    return f"REAL system, through {connector.name}"


def _actions(ticket: Any) -> list[dict[str, Any]]:
    actions = [a for a in ticket.suggested_actions or [] if isinstance(a, dict)]
    platforms = {str(a.get("platform")) for a in actions}
    connectors = {c.platform: c for c in PlatformConnector.objects.filter(platform__in=platforms)}
    out = []
    for action in actions:
        operation = get_operation(str(action.get("operation")))
        connector = connectors.get(str(action.get("platform")))
        raw = action.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        system = str(action.get("system"))
        out.append(
            {
                **action,
                # How big the action is (replicas, sizes, flavors): on the first screen, so a
                # person approving a critical action sees its size before the details.
                "size": ", ".join(
                    f"{k}={v}" for k, v in sorted(params.items()) if str(v) != system
                ),
                "risk": operation.risk_level if operation else "unknown",
                "rollback_note": (operation.rollback_note if operation else "")
                or action.get("rollback"),
                "target_label": _target_label(connector),
                "simulated": bool(connector and connector.enabled and connector.simulated),
            }
        )
    return out


def _bars(ticket: Any) -> list[dict[str, Any]]:
    breakdown = (ticket.reliability_breakdown or {}).get("breakdown") or {}
    bars = []
    for name, value in breakdown.items():
        try:
            number = float(str(value).rstrip("%"))
        except ValueError:
            number = 0.0
        bars.append(
            {"name": name.replace("_", " "), "value": value, "width": max(0.0, min(100.0, number))}
        )
    return bars


@approvers_only
@require_http_methods(["GET", "HEAD", "POST"])
def detail(request: HttpRequest, ticket_id: str) -> HttpResponse:
    req = (
        access.visible_requests(request.user)
        .select_related("ticket", "ticket__pattern", "ticket__submitted_by")
        .filter(ticket__ticket_id=ticket_id[:64])
        .first()
    )
    if req is None:
        raise Http404("No approval request for this ticket.")
    ticket = req.ticket
    actions = _actions(ticket)
    critical = [a for a in actions if a.get("action_type") == CRITICAL_WRITE]
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if (
            form.is_valid()
            and critical
            and form.cleaned_data["decision"] == "approve"
            and not form.cleaned_data["confirm_critical"]
        ):
            form.add_error(
                "confirm_critical",
                "This is a critical action: tick the confirmation to approve it.",
            )
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                if decision == "approve":
                    result = services.approval_grant(
                        ticket.ticket_id,
                        acting_user=request.user,  # type: ignore[arg-type]
                        comment=form.cleaned_data["comment"],
                        shown_digest=form.cleaned_data["actions_digest"],
                        via=ApprovalChannel.WEB,
                    )
                else:
                    result = services.approval_reject(
                        ticket.ticket_id,
                        acting_user=request.user,  # type: ignore[arg-type]
                        comment=form.cleaned_data["comment"],
                        shown_digest=form.cleaned_data["actions_digest"],
                        via=ApprovalChannel.WEB,
                        not_now=decision == "not_now",
                    )
            except ApplicationError as exc:
                messages.error(request, exc.message)
                return redirect("approvals:detail", ticket_id=ticket.ticket_id)
            messages.success(request, result.message)
            return redirect("approvals:detail", ticket_id=ticket.ticket_id)
        messages.error(request, "Your decision was not recorded: see the form below.")
    digest = selectors.current_digest(ticket)
    now = timezone.now()
    refusal = access.approval_refusal(request.user, ticket, req)
    decision = ticket.remediation_decision or {}
    pattern = ticket.pattern
    if not form.is_bound:
        form = DecisionForm(initial={"actions_digest": digest})
    return render(
        request,
        "approvals/detail.html",
        {
            "req": req,
            "row": _row(req, now),
            "ticket": ticket,
            "decision": decision,
            "safety": _safety(decision.get("safety_checks")),
            "actions": actions,
            "critical": critical,
            "why_person": _why_person(decision, ticket),
            "final": ticket.status not in LIVE_STATUSES,
            "bars": _bars(ticket),
            "confidence_level": (ticket.reliability_breakdown or {}).get("confidence_level"),
            "pattern": pattern,
            "diagnosis": ticket.diagnosis if isinstance(ticket.diagnosis, dict) else None,
            "investigation": ticket.investigation
            if isinstance(ticket.investigation, dict)
            else None,
            "alert_note": alert_note(ticket),
            "similar": selectors.similar_tickets(ticket),
            "decisions": selectors.decisions_of(req),
            "digest": digest,
            "check": selectors.approval_check(ticket, now=now),
            "audit": ticket_audit_trail(ticket),
            "refusal": refusal,
            "can_decide": refusal is None and req.status == ApprovalStatus.PENDING,
            "form": form,
        },
    )


# The ticket statuses a request page keeps watching: something is still going to happen.
LIVE_STATUSES = frozenset(
    {
        TicketStatus.PROCESSING,
        TicketStatus.ANALYZED,
        TicketStatus.AWAITING_APPROVAL,
        TicketStatus.REMEDIATING,
    }
)


def _why_person(decision: dict[str, Any], ticket: Any) -> str:
    """The decision's sentence that says why a person is asked (its approval step)."""
    for sentence in decision.get("reasoning") or []:
        text = str(sentence)
        if text.startswith("Approval required"):
            return text.removeprefix("Approval required: ").rstrip(".") or text
    return str(ticket.status_reason or "")


@approvers_only
@require_http_methods(["GET", "HEAD"])
def status(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """The request page's live status. For htmx (``HX-Request``), the page's status
    fragment, which carries its polling trigger until the ticket reaches a state where
    nothing more happens by itself; otherwise the same as JSON."""
    req = (
        access.visible_requests(request.user)
        .select_related("ticket")
        .filter(ticket__ticket_id=ticket_id[:64])
        .first()
    )
    if req is None:
        raise Http404("No approval request for this ticket.")
    ticket = req.ticket
    final = ticket.status not in LIVE_STATUSES
    if request.headers.get("HX-Request") == "true":
        return render(
            request,
            "approvals/_status.html",
            {"req": req, "ticket": ticket, "row": _row(req, timezone.now()), "final": final},
        )
    return JsonResponse(
        {
            "ticket_status": ticket.status,
            "ticket_status_display": ticket.get_status_display(),
            "outcome": ticket.outcome,
            "status_reason": ticket.status_reason,
            "request_status": req.status,
            "request_status_display": req.get_status_display(),
            "final": final,
        }
    )


SAFETY_LABELS = {
    "time_window_ok": "Within the allowed time window",
    "rate_limit_ok": "Under the hourly action limits",
    "backup_available": "Backup or snapshot available",
    "system_healthy": "System healthy enough to act on",
    "all_passed": "All checks",
}


def _safety(checks: Any) -> list[tuple[str, bool]]:
    """The decision's safety checks in words, in the order the decision ran them."""
    if not isinstance(checks, dict):
        return []
    return [
        (SAFETY_LABELS.get(str(name), str(name).replace("_", " ").capitalize()), bool(ok))
        for name, ok in checks.items()
    ]


@csrf_exempt  # Slack cannot send a CSRF token; its signature is checked instead
@require_http_methods(["POST"])
def slack_interactions(request: HttpRequest) -> JsonResponse:
    """Slack's interactive requests (the buttons of an approval message):
    ``remediation.approvals.slack.interaction`` verifies and decides."""
    answer = slack.interaction(
        request.body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
    )
    return JsonResponse(answer.body, status=answer.status)
