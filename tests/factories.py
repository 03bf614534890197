"""factory-boy factories shared by the suite. Each app's tests may add their own below."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from patterns.models import Pattern
from remediation.models import Ticket
from remediation.services import TicketInput, ticket_analyze, ticket_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    ticket_id = factory.Sequence(lambda n: f"INC-{10000 + n}")
    title = "Service down"
    description = "Web service not responding on port 8080"
    category = "server"
    submitted_by = factory.SubFactory(UserFactory)


class PatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pattern

    hash = factory.Sequence(lambda n: f"{n:064x}")
    category = "server"
    key_terms = factory.LazyFunction(lambda: ["service", "down"])
    signature = factory.LazyAttribute(lambda p: f"{p.category}|{','.join(p.key_terms)}")


# --- learning (B2): tickets through the real intake and analysis services ----------------


def analyzed_ticket(submitter, ticket_id, *, title, description, category="server", executed=False):
    """A ticket created and analyzed through ``ticket_create`` + ``ticket_analyze``, as the
    queue worker would. ``executed`` marks its actions as having run (the state an approved
    execution leaves), so its concluded outcome counts as a remediation attempt."""
    ticket = ticket_create(
        TicketInput(ticket_id=ticket_id, title=title, description=description, category=category),
        acting_user=submitter,
    )
    ticket_analyze(ticket.pk)
    if executed:
        Ticket.objects.filter(pk=ticket.pk).update(auto_remediation_executed=True)
    return Ticket.objects.select_related("pattern").get(pk=ticket.pk)
