from rest_framework.views import APIView


class TicketListCreateApi(APIView):
    pass


class TicketDetailApi(APIView):
    pass
