"""Re-key the pattern history on causes.

Patterns used to be a category plus the ticket's five most frequent words, so one cause
said three ways was three patterns. A ticket whose stored diagnosis established a cause now
belongs to the pattern of that cause (see docs/learning.md); this moves every such ticket,
and what hangs on its pattern, to the cause's pattern:

* the ticket and its executions;
* learned runbooks, to the pattern of the ticket that taught them (where that pattern has
  no learned runbook for the same operation yet; otherwise it stays where it was);
* what people said no to and what tripped: a refused operation remembered for an old
  pattern is remembered for each cause pattern its tickets went to (counts added), an
  open circuit breaker stays open for them; a pattern an admin switched off or flagged for
  review passes that on (switched off if any of its old patterns was).

Tickets without an established cause stay on their word patterns. The statistics of every
pattern are then rebuilt from the tickets and feedback by the same service as
``manage.py recompute_patterns`` (which audits eligibility that changed), so incremental
updates and a recompute agree from here on. Old patterns keep their audit streams; emptied
ones are left at zero, never deleted (audit rows point at them).

The rule and the rebuild are the project's own code as of this migration: it does nothing
on a database without tickets (a new install), which is where a later change of that code
could otherwise matter.
"""

from collections import defaultdict

from django.db import migrations

BATCH = 500


def _cause_patterns(apps):
    """Each ticket with an established cause, moved to its cause's pattern: returns, for
    each old pattern whose tickets moved, the new patterns they went to."""
    from patterns.rules.signature import cause_signature
    from remediation.analysis.rules.pattern_key import pattern_key

    Ticket = apps.get_model("remediation", "Ticket")
    Pattern = apps.get_model("patterns", "Pattern")
    Execution = apps.get_model("remediation", "Execution")
    by_hash: dict = {}
    moves: dict = defaultdict(list)  # new pattern id -> ticket ids
    goes_to: dict = defaultdict(set)  # old pattern id -> new pattern ids
    tickets = Ticket.objects.filter(pattern__isnull=False).only(
        "id", "category", "diagnosis", "pattern_id"
    )
    for ticket in tickets.order_by("id").iterator(chunk_size=BATCH):
        key = pattern_key(ticket.diagnosis)
        if key is None:
            continue
        sig = cause_signature(
            ticket.category, cause=key.cause, kind=key.kind, operation=key.operation
        )
        if sig.hash not in by_hash:
            by_hash[sig.hash] = Pattern.objects.get_or_create(
                hash=sig.hash,
                defaults={
                    "category": sig.category,
                    "key_terms": list(sig.key_terms),
                    "signature": sig.text,
                },
            )[0]
        pattern = by_hash[sig.hash]
        if pattern.pk != ticket.pattern_id:
            moves[pattern.pk].append(ticket.pk)
            goes_to[ticket.pattern_id].add(pattern.pk)
    for new_id, ids in moves.items():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            Ticket.objects.filter(pk__in=chunk).update(pattern_id=new_id)
            Execution.objects.filter(ticket_id__in=chunk).update(pattern_id=new_id)
    return goes_to


def _carry_over(apps, old_id, new_id):
    """What people said and what tripped on an old pattern, onto a cause pattern."""
    Pattern = apps.get_model("patterns", "Pattern")
    RejectedOperation = apps.get_model("remediation", "RejectedOperation")
    CircuitBreaker = apps.get_model("remediation", "CircuitBreaker")
    before = Pattern.objects.get(pk=old_id)
    if not before.enabled:
        Pattern.objects.filter(pk=new_id).update(enabled=False)
    if before.needs_review:
        Pattern.objects.filter(pk=new_id).update(needs_review=True)
    for refused in RejectedOperation.objects.filter(pattern_id=old_id):
        row, created = RejectedOperation.objects.get_or_create(
            pattern_id=new_id,
            operation=refused.operation,
            defaults={
                "rejection_count": refused.rejection_count,
                "first_rejected_at": refused.first_rejected_at,
                "last_rejected_at": refused.last_rejected_at,
            },
        )
        if not created:
            row.rejection_count += refused.rejection_count
            row.first_rejected_at = min(row.first_rejected_at, refused.first_rejected_at)
            row.last_rejected_at = max(row.last_rejected_at, refused.last_rejected_at)
            row.save()
    for breaker in CircuitBreaker.objects.filter(pattern_id=old_id, is_open=True):
        CircuitBreaker.objects.get_or_create(
            pattern_id=new_id,
            target=breaker.target,
            defaults={"is_open": True, "reason": breaker.reason, "opened_at": breaker.opened_at},
        )


def _move_learned(apps):
    Runbook = apps.get_model("remediation", "Runbook")
    learned = Runbook.objects.filter(source="feedback", learned_from__isnull=False)
    for runbook in learned.select_related("learned_from"):
        target = runbook.learned_from.pattern_id
        if target is None or target == runbook.pattern_id:
            continue
        taken = Runbook.objects.filter(
            source="feedback", pattern_id=target, operation=runbook.operation
        ).exists()
        if not taken:
            runbook.pattern_id = target
            runbook.save(update_fields=["pattern"])


def rekey(apps, schema_editor):
    Ticket = apps.get_model("remediation", "Ticket")
    if not Ticket.objects.filter(pattern__isnull=False).exists():
        return
    for old_id, new_ids in _cause_patterns(apps).items():
        for new_id in new_ids:
            _carry_over(apps, old_id, new_id)
    _move_learned(apps)
    # Every count from the tickets and feedback as they now belong (audits what flips).
    from feedback.rebuild.services import patterns_recompute

    patterns_recompute()


class Migration(migrations.Migration):
    # In the feedback app: it rebuilds the statistics with the feedback app's recompute
    # service, and the apps point one way (feedback -> remediation -> patterns).
    dependencies = [
        ("feedback", "0002_learning_integrity"),
        ("remediation", "0030_shadow_agreement"),
        ("patterns", "0004_shadow_agreement"),
    ]
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
