"""My Interactions in the order the agent asks for: by service-level time left, or arrival."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from connect import fragments
from connect.views import agent_of
from routing import services

ORDERS = {"time_left": True, "arrival": False}


@login_required
@require_POST
def list_order(request: HttpRequest) -> HttpResponse:
    order = request.POST.get("order", "")
    if order not in ORDERS:
        return HttpResponse(
            fragments.refused("Choose to sort by time left or by arrival."), status=400
        )
    agent = services.set_list_order(agent=agent_of(request), by_time_left=ORDERS[order])
    return HttpResponse(fragments.my_interactions(agent))
