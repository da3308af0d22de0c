"""Everything time-driven, one call for the timer loop of any process."""

from routing.models import (
    Interaction,
)
from routing.services import send_outcomes
from routing.services.acd import end_preferred_windows, offer_waiting
from routing.services.after_contact import expire_after_contact
from routing.services.inactivity import run_inactivity_timers
from routing.services.kernel import S
from routing.services.offer_returns import expire_alerts
from routing.services.presence import return_offers_of_departed, sweep_stale_desktops


def run_due_timers() -> dict[str, int]:
    """Everything time-driven, safe from any number of processes at once."""
    done = {
        "alerts_expired": expire_alerts(),
        "sends_expired": send_outcomes.expire_stuck_sends(),
        "desktops_swept": sweep_stale_desktops(),
        "offers_of_departed_returned": return_offers_of_departed(),
        "after_contact_ended": expire_after_contact(),
        **run_inactivity_timers(),
        "preferred_windows_ended": end_preferred_windows(),
        "offered": 0,
    }
    for workgroup_id in (
        Interaction.objects.filter(state=S.QUEUED).values_list("workgroup_id", flat=True).distinct()
    ):
        done["offered"] += offer_waiting(workgroup_id=workgroup_id)
    return done
