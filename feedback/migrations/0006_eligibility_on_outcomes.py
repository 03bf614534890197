"""A pattern's eligibility (and a policy's ``min_positive_feedback_rate``) now holds against
the share of its concluded tickets that succeeded, measured where something ran, instead of
the share of positive ratings: rebuild every pattern's statistics from the tickets and
feedback, so each stored eligibility is settled under the new rule and the incremental
updates that follow start from the same numbers (any eligibility that changes is audited).

This is the one rebuild of the pattern history: 0003 (patterns re-keyed on causes) and 0004
(the average reliability over concluded tickets) leave theirs to it, since every upgrade
that runs them runs this one after them.

Written out here, against the historical models: the counting of
``feedback.rebuild.selectors.pattern_totals``, the rates of ``patterns.services._refresh_derived``,
the rule of ``patterns.rules.eligibility`` and the chained audit row of
``remediation.audit.services.audit``, as they were when this migration was written. A
migration must keep doing what it did, and must not query the application's models, which
gain columns after it. It does nothing on a database without tickets (a new install).
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import Round, RowNumber
from django.utils import timezone

SUM_DECIMALS = 6
CONCLUDED = ("success", "failure")
EPSILON = 1e-9
GENESIS = "0" * 64
BATCH = 500

TOTALS = [
    "occurrence_count",
    "confidence_sum",
    "success_count",
    "failure_count",
    "positive_feedback_count",
    "negative_feedback_count",
    "neutral_feedback_count",
    "reliability_sum",
    "reliability_count",
    "auto_remediation_attempts",
    "auto_remediation_successes",
    "shadow_agreement_count",
    "shadow_disagreement_count",
]
DERIVED = [
    "positive_feedback_rate",
    "avg_confidence_score",
    "avg_reliability_score",
    "auto_remediation_success_rate",
    "shadow_agreement_rate",
    "eligible_for_auto_remediation",
    "eligibility_changed_at",
]
# The settings this rule reads, with their defaults when this migration was written.
THRESHOLDS = {
    "PATTERN_MIN_OCCURRENCES": 5,
    "PATTERN_MIN_POSITIVE_RATE": 0.85,
    "PATTERN_MIN_RELIABILITY": 85.0,
    "PATTERN_MIN_SUCCESS_RATE": 0.85,
    "PATTERN_MIN_SHADOW_AGREEMENT": 0.9,
    "PATTERN_MIN_SHADOW_DECISIONS": 0,
    "PATTERN_RELIABILITY_WINDOW": 10,
}


def _setting(name):
    return getattr(settings, name, THRESHOLDS[name])


def _quantize(value):
    return round(float(value), SUM_DECIMALS)


def _ratio(part, whole):
    return part / whole if whole else 0.0


def _average(total, count):
    return _quantize(total / count) if count else 0.0


def _totals(apps):
    """Every pattern's raw totals (pattern id -> {field: value}), from tickets, trusted
    feedback that did not disagree with a measured outcome, and shadow agreement verdicts."""
    Ticket = apps.get_model("remediation", "Ticket")
    Feedback = apps.get_model("feedback", "Feedback")
    ShadowAgreement = apps.get_model("remediation", "ShadowAgreement")
    concluded = Q(outcome__in=CONCLUDED)
    tickets = (
        Ticket.objects.filter(pattern__isnull=False)
        .order_by()
        .values("pattern_id")
        .annotate(
            occurrence_count=Count("id"),
            confidence_sum=Sum(Round("confidence_score", SUM_DECIMALS)),
            success_count=Count("id", filter=Q(outcome="success")),
            failure_count=Count("id", filter=Q(outcome="failure")),
            reliability_sum=Sum(Round("reliability_score", SUM_DECIMALS), filter=concluded),
            reliability_count=Count("reliability_score", filter=concluded),
            auto_remediation_attempts=Count(
                "id", filter=Q(auto_remediation_executed=True) & concluded
            ),
            auto_remediation_successes=Count(
                "id", filter=Q(auto_remediation_executed=True, outcome="success")
            ),
        )
    )
    feedback = (
        Feedback.objects.filter(ticket__pattern__isnull=False, trusted=True, disagrees=False)
        .order_by()
        .values("ticket__pattern_id")
        .annotate(
            positive_feedback_count=Count("id", filter=Q(feedback_type="positive")),
            negative_feedback_count=Count("id", filter=Q(feedback_type="negative")),
            neutral_feedback_count=Count("id", filter=Q(feedback_type="neutral")),
        )
    )
    agreement = (
        ShadowAgreement.objects.filter(pattern__isnull=False)
        .order_by()
        .values("pattern_id")
        .annotate(
            shadow_agreement_count=Count("id", filter=Q(agreed=True)),
            shadow_disagreement_count=Count("id", filter=Q(agreed=False)),
        )
    )
    totals = {}
    for row in tickets:
        totals[row.pop("pattern_id")] = row
    for row in feedback:
        totals.setdefault(row.pop("ticket__pattern_id"), {}).update(row)
    for row in agreement:  # a verdict can outlive its ticket's link to the pattern
        totals.setdefault(row.pop("pattern_id"), {}).update(row)
    return totals


def _recent_scores(apps, window):
    """The reliability scores of each pattern's latest ``window`` concluded tickets."""
    Ticket = apps.get_model("remediation", "Ticket")
    ranked = (
        Ticket.objects.filter(
            pattern__isnull=False, outcome__in=CONCLUDED, reliability_score__isnull=False
        )
        .annotate(rank=Window(RowNumber(), partition_by=[F("pattern_id")], order_by=F("id").desc()))
        .filter(rank__lte=window)
    )
    scores = {}
    for pattern_id, score in ranked.order_by("pattern_id", "-id").values_list(
        "pattern_id", "reliability_score"
    ):
        scores.setdefault(pattern_id, []).append(float(score))
    return scores


def _refresh(p, recent, window):
    """Every rate and average from the counts and sums on the row."""
    feedback = p.positive_feedback_count + p.negative_feedback_count + p.neutral_feedback_count
    p.positive_feedback_rate = _ratio(p.positive_feedback_count, feedback)
    p.avg_confidence_score = _average(p.confidence_sum, p.occurrence_count)
    if window > 0 and p.reliability_count > 0 and recent:
        p.avg_reliability_score = _average(sum(recent), len(recent))
    else:
        p.avg_reliability_score = _average(p.reliability_sum, p.reliability_count)
    p.auto_remediation_success_rate = _ratio(
        p.auto_remediation_successes, p.auto_remediation_attempts
    )
    p.shadow_agreement_rate = _ratio(
        p.shadow_agreement_count, p.shadow_agreement_count + p.shadow_disagreement_count
    )


def _eligibility(p):
    """(eligible, reasons) of the rule, with the reasons it gives in the audit trail."""
    unmet, met = [], []

    def check(ok, good, bad):
        (met if ok else unmet).append(good if ok else bad)

    occurrences = int(_setting("PATTERN_MIN_OCCURRENCES"))
    positive = float(_setting("PATTERN_MIN_POSITIVE_RATE"))
    reliability = float(_setting("PATTERN_MIN_RELIABILITY"))
    success = float(_setting("PATTERN_MIN_SUCCESS_RATE"))
    decisions_needed = int(_setting("PATTERN_MIN_SHADOW_DECISIONS"))
    agreement = float(_setting("PATTERN_MIN_SHADOW_AGREEMENT"))
    concluded = p.success_count + p.failure_count
    outcome_rate = p.success_count / concluded if concluded else 0.0
    if not p.enabled:
        unmet.append("Pattern is disabled by an administrator.")
    if p.needs_review:
        unmet.append(
            "Flagged for review: trusted feedback disagreed with a measured outcome; an "
            "admin clears the flag."
        )
    check(
        p.occurrence_count >= occurrences,
        f"Seen {p.occurrence_count} times (>= {occurrences}).",
        f"Seen {p.occurrence_count} times, needs {occurrences}.",
    )
    check(
        outcome_rate + EPSILON >= positive,
        f"Positive outcomes {outcome_rate:.0%} of concluded tickets (>= {positive:.0%}).",
        f"Positive outcomes {outcome_rate:.0%} of concluded tickets, needs {positive:.0%}.",
    )
    check(
        p.avg_reliability_score + EPSILON >= reliability,
        f"Average reliability {p.avg_reliability_score:.1f} (>= {reliability:.1f}).",
        f"Average reliability {p.avg_reliability_score:.1f}, needs {reliability:.1f}.",
    )
    check(
        p.auto_remediation_success_rate + EPSILON >= success,
        f"Remediation success rate {p.auto_remediation_success_rate:.0%} (>= {success:.0%}).",
        f"Remediation success rate {p.auto_remediation_success_rate:.0%}, "
        f"needs {success:.0%}.",
    )
    if decisions_needed > 0:
        agreed = p.shadow_agreement_count
        decisions = agreed + p.shadow_disagreement_count
        rate = agreed / decisions if decisions else 0.0
        ok = decisions >= decisions_needed and rate + EPSILON >= agreement
        check(
            ok,
            f"People agreed with its proposals {rate:.0%} of {decisions} times "
            f"(>= {agreement:.0%} of at least {decisions_needed}).",
            f"People agreed with its proposals {rate:.0%} of {decisions} times, needs "
            f"{agreement:.0%} of at least {decisions_needed}.",
        )
    return (False, unmet) if unmet else (True, met)


def _key():
    configured = str(getattr(settings, "AUDIT_HMAC_KEY", "") or "")
    material = configured or f"audit-chain:{settings.SECRET_KEY}"
    return hashlib.sha256(material.encode()).digest()


def _mac(content):
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def _audit_flip(apps, p, eligible, reasons):
    """The pattern's eligibility flip, appended to its audit stream and its anchor moved,
    as ``remediation.audit.services.audit`` writes it."""
    AuditEvent = apps.get_model("remediation", "AuditEvent")
    AuditAnchor = apps.get_model("remediation", "AuditAnchor")
    stream = f"pattern:{p.pk}"
    verdict = "eligible" if eligible else "no longer eligible"
    message = f"Pattern {p.signature} is {verdict} for auto-remediation: " + " ".join(reasons)
    concluded = p.success_count + p.failure_count
    details = {
        "pattern": p.hash,
        "eligible": eligible,
        "reasons": reasons,
        "occurrence_count": p.occurrence_count,
        "positive_feedback_rate": p.positive_feedback_rate,
        "positive_outcome_rate": p.success_count / concluded if concluded else 0.0,
        "avg_reliability_score": p.avg_reliability_score,
        "auto_remediation_attempts": p.auto_remediation_attempts,
        "auto_remediation_success_rate": p.auto_remediation_success_rate,
        "shadow_agreement_count": p.shadow_agreement_count,
        "shadow_disagreement_count": p.shadow_disagreement_count,
    }
    details = json.loads(json.dumps(details, default=str))
    anchor = AuditAnchor.objects.select_for_update().filter(stream=stream).first()
    prev = anchor.head_hash if anchor is not None else GENESIS
    created_at = timezone.now()
    row = {
        "stream": stream,
        "prev": prev,
        "ticket": None,
        "pattern": p.pk,
        "actor": None,
        "actor_label": "system",
        "action": "pattern.eligibility_changed",
        "message": message,
        "details": details,
        "created_at": created_at.isoformat(),
    }
    head = _mac(row)
    AuditEvent.objects.create(
        stream=stream,
        pattern_id=p.pk,
        actor_label="system",
        action="pattern.eligibility_changed",
        message=message,
        details=details,
        created_at=created_at,
        prev_hash=prev,
        hash=head,
    )
    length = anchor.length + 1 if anchor is not None else 1
    sealed = (anchor.sealed_seq, anchor.sealed_length) if anchor is not None else (0, 0)
    mac = _mac(
        {
            "kind": "anchor",
            "stream": stream,
            "length": length,
            "head": head,
            "sealed_seq": sealed[0],
            "sealed_length": sealed[1],
        }
    )
    if anchor is None:
        AuditAnchor.objects.create(stream=stream, length=1, head_hash=head, mac=mac)
    else:
        AuditAnchor.objects.filter(pk=anchor.pk).update(length=length, head_hash=head, mac=mac)


def rebuild(apps, schema_editor):
    """Every pattern's statistics from its tickets and feedback, eligibility settled; only
    the rows whose numbers were wrong are written."""
    Ticket = apps.get_model("remediation", "Ticket")
    Pattern = apps.get_model("patterns", "Pattern")
    if not Ticket.objects.filter(pattern__isnull=False).exists():
        return
    window = int(_setting("PATTERN_RELIABILITY_WINDOW"))
    fields = TOTALS + DERIVED
    now = timezone.now()
    # Rows locked before counting: an update racing the rebuild waits for it.
    patterns = list(Pattern.objects.select_for_update().order_by("id"))
    totals = _totals(apps)
    recent = _recent_scores(apps, window) if window > 0 else {}
    stale, flips = [], []
    for p in patterns:
        before = [getattr(p, name) for name in fields]
        counted = totals.get(p.pk, {})
        for name in TOTALS:
            value = counted.get(name) or 0
            setattr(p, name, _quantize(value) if name.endswith("_sum") else int(value))
        _refresh(p, recent.get(p.pk, []), window)
        eligible, reasons = _eligibility(p)
        if eligible != p.eligible_for_auto_remediation:
            p.eligible_for_auto_remediation = eligible
            p.eligibility_changed_at = now
            flips.append((p, eligible, reasons))
        if [getattr(p, name) for name in fields] != before:
            stale.append(p)
    Pattern.objects.bulk_update(stale, fields, batch_size=BATCH)
    for p, eligible, reasons in flips:
        _audit_flip(apps, p, eligible, reasons)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0005_review"),
        ("policies", "0005_min_positive_feedback_rate_on_outcomes"),
    ]
    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
