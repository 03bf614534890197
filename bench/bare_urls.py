"""The stack's ceiling for a ticket POST: the same middleware, token authentication and
request body validation (the endpoint's own TicketInputSerializer), then an answer, no writes."""

from __future__ import annotations

from django.urls import path
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


urlpatterns = [path("api/v1/tickets", BareTicketApi.as_view())]
