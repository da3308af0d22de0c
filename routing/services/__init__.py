"""Every change routing makes, one function per verb, each with its rule.

Each verb locks the row it changes (`select_for_update`), checks the
transition against `kernel.TRANSITIONS`, writes the change and an
`InteractionEvent`, and announces it after commit. Views, consumers, the
webhook adapter and the timers call only these. The modules, by area:

- `kernel`: refusals, the transition table, locks, the save-and-announce step
- `acd`: offers to the longest-idle agent with room
- `free_agents`: who among a workgroup's members may be rung now, and their room
- `offer_returns`: offers that ring out or go back to the queue
- `transfers`: the steps a transfer takes (ring one agent, or requeue)
- `queue_control`: an agent's toolbar verbs, dismiss, read, wrap-up
- `presence`: agents' status and desktops; capacities and memberships
- `timers`: everything time-driven, for the timer loop
- `arrivals`: a customer's message arrives
- `openings`: a customer's live interaction, found or opened
- `read_ahead`: a router batch's customer messages, read ahead in three queries
- `replies`: an agent's replies and what the sender reports of them
- `receipts`: the Page's echoes, deliveries and reads Meta reports
- `message_updates`: reactions, edits, kept attachments, standby messages
- `supervision`: a supervisor's verbs from the live board
- `assistance`: asking for help; monitoring, coaching, taking over
- `after_contact`: after-contact work once an interaction ends
- `inactivity`, `clocks`: an agent who does not reply, a customer who goes silent
- `automatic`: the out-of-hours reply, the acknowledgement, the feedback survey
- `feedback`: the customer's answer to the feedback survey
- `notes`: internal notes, never sent to the customer
- `service_levels`: the service-level clocks' steps; the agent's list order
- `conversation_routing`: which app controls the conversation; referrals (m.me, ads)
- `comments`: Page comments and their one private reply
- `customers`, `responses`, `recordings`: their own rows

Callers use the names below (`services.pickup(...)`); the modules import
each other's public names only.
"""

from routing.services.acd import offer_waiting
from routing.services.after_contact import end_after_contact, expire_after_contact
from routing.services.arrivals import Received, receive_customer_message
from routing.services.assistance import ask_for_help, coach, monitor, take_over
from routing.services.automatic import queue_position
from routing.services.comments import receive_page_comment, record_private_reply_sent
from routing.services.conversation_routing import (
    check_may_take_thread,
    note_customer_message,
    note_standby_message,
    record_referral,
    record_thread_owner,
)
from routing.services.customers import (
    ProfileAnswer,
    profile_is_stale,
    update_customer_profiles,
)
from routing.services.feedback import record_feedback
from routing.services.inactivity import (
    disconnect_for_silence,
    return_for_no_reply,
    run_inactivity_timers,
    warn_no_reply,
    warn_silence,
)
from routing.services.kernel import (
    STATE_WORDS,
    TRANSITIONS,
    NotYours,
    RoutingError,
    TransitionRefused,
    allowed_actions,
    check_transition,
    inserts_without_savepoints,
)
from routing.services.message_updates import (
    forget_attachment_copies,
    record_attachment_copy,
    record_customer_edit,
    record_reaction,
    record_standby,
)
from routing.services.notes import add_note
from routing.services.offer_returns import alert_timeout, expire_alerts
from routing.services.presence import (
    CONNECTION_STALE_AFTER,
    OFFERS_KEPT_FOR_A_RELOAD,
    desktop_closed,
    desktop_opened,
    desktops_closed,
    desktops_opened,
    desktops_seen,
    return_offers_of_departed,
    set_agent_capacity,
    set_agent_status,
    set_workgroup_capacity,
    skills_changed,
    sweep_stale_desktops,
    workgroup_members_changed,
)
from routing.services.queue_control import (
    disconnect,
    dismiss,
    hold,
    mark_read_by_agent,
    pickup,
    set_recording,
    set_wrap_up,
    transfer_to_agent,
    transfer_to_workgroup,
    wrap_up_missing,
)
from routing.services.read_ahead import Arrival, reading_ahead
from routing.services.receipts import (
    lock_current_or_latest_interaction,
    record_delivered,
    record_page_echo,
    record_read,
)
from routing.services.recordings import close_recordings, open_recording, transcript_of
from routing.services.replies import (
    DUPLICATE_WINDOW,
    delete_unsent,
    resend,
    store_replies,
    store_reply,
)
from routing.services.responses import (
    delete_my_response,
    fill_macros,
    save_my_response,
    set_favourite,
)
from routing.services.send_outcomes import (
    claim_for_sending,
    expire_stuck_sends,
    postpone_send,
    record_send_failed,
    record_sent,
)
from routing.services.service_levels import set_list_order
from routing.services.supervision import (
    supervisor_disconnect,
    supervisor_transfer_to_agent,
    supervisor_transfer_to_workgroup,
)
from routing.services.timers import run_due_timers

__all__ = [
    "Arrival",
    "CONNECTION_STALE_AFTER",
    "OFFERS_KEPT_FOR_A_RELOAD",
    "DUPLICATE_WINDOW",
    "NotYours",
    "ProfileAnswer",
    "Received",
    "RoutingError",
    "STATE_WORDS",
    "TRANSITIONS",
    "TransitionRefused",
    "add_note",
    "alert_timeout",
    "allowed_actions",
    "check_transition",
    "claim_for_sending",
    "close_recordings",
    "delete_my_response",
    "delete_unsent",
    "desktop_closed",
    "desktop_opened",
    "desktops_closed",
    "desktops_opened",
    "desktops_seen",
    "disconnect",
    "dismiss",
    "expire_alerts",
    "expire_stuck_sends",
    "fill_macros",
    "hold",
    "inserts_without_savepoints",
    "lock_current_or_latest_interaction",
    "mark_read_by_agent",
    "offer_waiting",
    "open_recording",
    "pickup",
    "profile_is_stale",
    "reading_ahead",
    "receive_customer_message",
    "receive_page_comment",
    "record_private_reply_sent",
    "forget_attachment_copies",
    "record_attachment_copy",
    "record_customer_edit",
    "record_delivered",
    "record_page_echo",
    "record_reaction",
    "record_read",
    "postpone_send",
    "record_send_failed",
    "record_sent",
    "record_standby",
    "record_referral",
    "record_thread_owner",
    "check_may_take_thread",
    "note_customer_message",
    "note_standby_message",
    "resend",
    "run_due_timers",
    "save_my_response",
    "set_agent_capacity",
    "set_agent_status",
    "set_favourite",
    "set_list_order",
    "set_recording",
    "set_workgroup_capacity",
    "set_wrap_up",
    "store_replies",
    "store_reply",
    "supervisor_disconnect",
    "supervisor_transfer_to_agent",
    "supervisor_transfer_to_workgroup",
    "sweep_stale_desktops",
    "return_offers_of_departed",
    "transcript_of",
    "transfer_to_agent",
    "transfer_to_workgroup",
    "update_customer_profiles",
    "workgroup_members_changed",
    "wrap_up_missing",
    "ask_for_help",
    "coach",
    "monitor",
    "take_over",
    "end_after_contact",
    "expire_after_contact",
    "warn_no_reply",
    "return_for_no_reply",
    "warn_silence",
    "disconnect_for_silence",
    "run_inactivity_timers",
    "skills_changed",
    "queue_position",
    "record_feedback",
]
