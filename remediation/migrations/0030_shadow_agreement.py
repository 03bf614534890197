"""Shadow agreement: one verdict per ticket a person handled (docs/learning.md), and its
audit event.

Runs before ``feedback.0003_patterns_keyed_on_causes``: that migration rebuilds the pattern
statistics with the project's current code (``feedback.rebuild.services.patterns_recompute``),
which reads this table and the pattern's shadow agreement columns, so both must exist
by then on a database that has tickets.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patterns', '0004_shadow_agreement'),
        ('remediation', '0029_lab_volume_relations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('ticket.created', 'Ticket created'), ('analysis.investigated', 'Investigated (read-only)'), ('analysis.completed', 'Analysis completed'), ('analysis.failed', 'Analysis failed'), ('ticket.scored', 'Reliability scored'), ('decision.made', 'Decision made'), ('ticket.status_changed', 'Status changed'), ('feedback.submitted', 'Feedback submitted'), ('ticket.outcome_changed', 'Outcome changed'), ('pattern.eligibility_changed', 'Pattern eligibility changed'), ('runbook.learned', 'Runbook learned from feedback'), ('runbook.activated', 'Learned runbook activated'), ('feedback.disagrees', 'Feedback disagrees with the outcome'), ('config.changed', 'Configuration changed'), ('storm.repeat_joined', 'Repeat joined the ticket'), ('alert.resolved', 'Alert resolved'), ('alert.firing_again', 'Alert firing again'), ('execution.requested', 'Execution requested'), ('execution.claimed', 'Execution claimed (intent to act)'), ('execution.refused', 'Execution refused at claim'), ('execution.step_prechecked', 'Step pre-checked'), ('execution.step_executed', 'Step executed'), ('execution.step_verified', 'Step post-checked'), ('execution.step_failed', 'Step failed'), ('execution.rollback_step', 'Rollback step'), ('execution.finished', 'Execution finished'), ('execution.unknown', 'Execution outcome unknown'), ('execution.reconciled', 'Execution reconciled by a person'), ('circuit.opened', 'Circuit breaker opened'), ('circuit.rearmed', 'Circuit breaker re-armed'), ('admins.notified', 'Administrators notified'), ('approval.requested', 'Approval requested'), ('approval.granted', 'Approval given'), ('approval.rejected', 'Approval refused'), ('approval.expired', 'Approval request expired'), ('agreement.recorded', 'Shadow agreement recorded')], max_length=64),
        ),
        migrations.CreateModel(
            name='ShadowAgreement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('agreed', models.BooleanField()),
                ('source', models.CharField(choices=[('approval', 'Approval'), ('rejection', 'Rejection'), ('feedback', 'Trusted feedback')], max_length=16)),
                ('decided_at', models.DateTimeField()),
                ('reason', models.TextField(blank=True)),
                ('decided_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pattern', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='shadow_agreements', to='patterns.pattern')),
                ('ticket', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='shadow_agreement', to='remediation.ticket')),
            ],
            options={
                'ordering': ['-decided_at', '-id'],
            },
        ),
    ]
