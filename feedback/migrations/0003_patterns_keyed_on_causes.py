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

Tickets without an established cause stay on their word patterns. Old patterns keep their
audit streams; emptied ones are left at zero, never deleted (audit rows point at them).

The statistics of every pattern are rebuilt from the tickets and feedback as they now belong
by ``0006_eligibility_on_outcomes``, which every upgrade that runs this migration runs after
it (nothing in between reads them), so the rebuild is written, and run, once.

Like every migration, this one uses the historical models and its own copy of the rule
(which pattern a diagnosis belongs to, as ``remediation.analysis.rules.pattern_key`` and
``patterns.rules.signature.cause_signature`` said when it was written): never the
application's code, which changes after it.
"""

import hashlib
import unicodedata
from collections import defaultdict

from django.db import migrations

BATCH = 500

# cause -> the catalogue operations that fix it: (operation, platform, the kind of object
# the operation acts on), sorted by operation. A copy of the vocabulary's FIXES and the
# catalogue as they were when this migration was written.
FIXED_BY = {
    "admin_down": [("enable_port", "network", "device")],
    "bad_release": [("rollback_deployment", "kubernetes", "deployment")],
    "cpu_undersized": [("increase_cpu", "vmware", "vm"), ("resize_instance", "openstack", "instance")],
    "data_growth": [("expand_volume", "storage", "volume")],
    "err_disabled_recovered": [("enable_port", "network", "device")],
    "hung": [
        ("reboot_instance", "openstack", "instance"),
        ("restart_pod", "kubernetes", "pod"),
        ("restart_vm", "vmware", "vm"),
    ],
    "interface_stuck": [("restart_interface", "network", "device")],
    "load_spike": [("scale_deployment", "kubernetes", "deployment")],
    "memory_undersized": [("increase_memory", "vmware", "vm"), ("resize_instance", "openstack", "instance")],
    "negotiation_flap": [("restart_interface", "network", "device")],
    "snapshot_growth": [("clear_snapshots", "storage", "volume")],
    "snapshot_requested": [("snapshot_vm", "vmware", "vm")],
    "stale_counters": [("clear_interface_errors", "network", "device")],
}


def _fixing(cause, platform):
    """(operation, kind) that fixes ``cause`` on ``platform``; ("", "") when none does, or
    when several platforms' operations would and the platform is not known."""
    fixing = FIXED_BY.get(cause, [])
    if platform:
        fixing = [row for row in fixing if row[1] == platform]
    elif len({row[1] for row in fixing}) > 1:
        return "", ""
    return (fixing[0][0], fixing[0][2]) if fixing else ("", "")


def _cause_key(diagnosis):
    """(cause, kind, operation) of the pattern a ticket with this diagnosis belongs to, or
    None when the diagnosis established no cause."""
    if not isinstance(diagnosis, dict) or diagnosis.get("established") is not True:
        return None
    cause = str(diagnosis.get("cause") or "")
    if not cause or cause == "unknown":
        return None
    platform = diagnosis.get("platform")
    operation, kind = _fixing(cause, str(platform) if platform else None)
    observed = diagnosis.get("observed_target")
    if isinstance(observed, dict) and observed.get("kind"):
        kind = str(observed["kind"])
    return cause, kind[:30], operation or "none"


def _cause_signature(category, cause, kind, operation):
    """(category, key terms, text, hash) of the pattern of a cause."""
    cat = unicodedata.normalize("NFKC", category).lower().strip()
    terms = [f"cause:{cause}", f"kind:{kind or '-'}", f"operation:{operation or 'none'}"]
    text = f"{cat}|{','.join(terms)}"
    return cat, terms, text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cause_patterns(apps):
    """Each ticket with an established cause, moved to its cause's pattern: returns, for
    each old pattern whose tickets moved, the new patterns they went to."""
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
        key = _cause_key(ticket.diagnosis)
        if key is None:
            continue
        category, terms, text, digest = _cause_signature(ticket.category, *key)
        if digest not in by_hash:
            by_hash[digest] = Pattern.objects.get_or_create(
                hash=digest,
                defaults={"category": category, "key_terms": terms, "signature": text},
            )[0]
        pattern = by_hash[digest]
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
    # The statistics are rebuilt by 0006 (see the docstring).


class Migration(migrations.Migration):
    # In the feedback app, with the rebuild that follows it (0006), which counts feedback.
    dependencies = [
        ("feedback", "0002_learning_integrity"),
        ("remediation", "0030_shadow_agreement"),
        ("patterns", "0004_shadow_agreement"),
    ]
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
