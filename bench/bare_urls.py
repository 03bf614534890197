"""Two references for a ticket POST on the same stack (same middleware, token authentication
and request body validation: the endpoint's own TicketInputSerializer):

* ``/api/v1/tickets`` (bare): validate and answer, no writes: the stack's ceiling;
* ``/api/v1/tickets-by-hand`` (hand): the same durable work as the project's POST written
  by hand in one transaction: the ticket row, its first audit row (hashed, chained) with its
  stream's anchor, and the analysis task's row in django-q's queue (the same signed
  package), each one SQL statement, and an answer of the ticket's fields.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.db import connection, transaction
from django.urls import path
from django.utils import timezone
from django_q.signing import SignedPackage
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from remediation.tickets.api import TicketInputSerializer


class BareTicketApi(APIView):
    def post(self, request: Request) -> Response:
        serializer = TicketInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=status.HTTP_201_CREATED)


TICKET_SQL = """
INSERT INTO remediation_ticket (
    ticket_id, title, description, category, category_source, affected_system, severity,
    source, alert_labels, status, status_reason, outcome, analyzer, resolution,
    suggested_actions, dropped_actions, confidence_score, auto_remediation_enabled,
    auto_remediation_executed, decision_mode, decision_policy, submitted_by_id, created_at,
    updated_at, needs_review, repeat_count, fix_held_by)
VALUES (%s, %s, %s, %s, 'given', %s, %s, %s, '{}'::jsonb, 'processing', '', 'unknown', '', '',
        '[]'::jsonb, '[]'::jsonb, 0.0, %s, false, '', '', %s, %s, %s, false, 0, '')
RETURNING id
"""
AUDIT_SQL = """
WITH anchor AS (
    INSERT INTO remediation_auditanchor (stream, length, head_hash, sealed_seq, sealed_length, mac)
    VALUES (%s, 1, %s, 0, 0, %s)
)
INSERT INTO remediation_auditevent (ticket_id, pattern_id, actor_id, actor_label, action, message,
                                    details, created_at, stream, prev_hash, hash)
VALUES (%s, NULL, %s, %s, 'ticket.created', %s, %s::jsonb, %s, %s, %s, %s)
"""
TASK_SQL = "INSERT INTO django_q_ormq (key, payload, lock) VALUES ('remediation', %s, %s)"
GENESIS = "0" * 64


class HandTicketApi(APIView):
    def post(self, request: Request) -> Response:
        serializer = TicketInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                TICKET_SQL,
                [
                    data["ticket_id"],
                    data["title"],
                    data["description"],
                    data["category"],
                    data.get("affected_system", ""),
                    data.get("severity", "medium"),
                    data.get("source", "api"),
                    data.get("enable_auto_remediation", False),
                    user.pk,
                    now,
                    now,
                ],
            )
            pk = cursor.fetchone()[0]
            stream = f"ticket:{pk}"
            message = f"Ticket {data['ticket_id']} submitted by {user.get_username()}"
            details = json.dumps({"category": data["category"], "source": "api"})
            row = hashlib.sha256(f"{stream}|{message}|{details}|{now}|{GENESIS}".encode())
            head = row.hexdigest()
            mac = hashlib.sha256(f"{stream}|1|{head}|0|0".encode()).hexdigest()
            anchor = [stream, head, mac]
            event = [pk, user.pk, user.get_username(), message, details, now, stream, GENESIS, head]
            cursor.execute(AUDIT_SQL, [*anchor, *event])
            task = {
                "id": uuid.uuid4().hex,
                "name": f"analyze {data['ticket_id']}"[:100],
                "func": "remediation.tasks.analyze_ticket",
                "args": (pk,),
                "kwargs": {},
                "started": now,
            }
            cursor.execute(TASK_SQL, [SignedPackage.dumps(task), now])
        answer = {**data, "id": pk, "status": "processing", "outcome": "unknown"}
        answer.update(submitted_by=user.get_username(), created_at=now, updated_at=now)
        return Response(answer, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("api/v1/tickets", BareTicketApi.as_view()),
    path("api/v1/tickets-by-hand", HandTicketApi.as_view()),
]
