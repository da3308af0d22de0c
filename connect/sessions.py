"""Open sockets end with the session that opened them.

Logging out closes that session's desktop and board sockets; deactivating a
login or deleting its agent closes all of them (the desktop's offers go back
to the queue as when its last tab closes); leaving the Supervisors group
closes the live boards. Sent after commit, as a control message to the
login's `user.<id>` group; the consumers close themselves.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from connect import audience, live
from routing import selectors
from routing.models import Agent

SUPERVISORS = selectors.SUPERVISORS_GROUP
User = get_user_model()


def end_sockets(user_id: int, *, session_key: str | None = None, boards_only: bool = False):
    message = {"type": "session.end", "session_key": session_key, "boards_only": boards_only}
    transaction.on_commit(lambda: live.send_control(audience.user_group(user_id), message))


@receiver(user_logged_out, dispatch_uid="connect.sessions.logged_out")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        end_sockets(user.pk, session_key=request.session.session_key)


@receiver(post_save, sender=User, dispatch_uid="connect.sessions.deactivated")
def _deactivated(sender, instance, created, update_fields=None, **kwargs) -> None:
    if not created and not instance.is_active:
        end_sockets(instance.pk)


@receiver(post_delete, sender=Agent, dispatch_uid="connect.sessions.agent_deleted")
def _agent_deleted(sender, instance: Agent, **kwargs) -> None:
    end_sockets(instance.user_id)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="connect.sessions.groups")
def _left_supervisors(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_remove", "post_clear"):
        return
    if reverse:
        # Removed from the group's side: `instance` is the group, pk_set the users.
        if instance.name == SUPERVISORS:
            for user_id in pk_set or ():
                end_sockets(user_id, boards_only=True)
        return
    supervisors = selectors.supervisors_group_id()
    if action == "post_clear" or (supervisors is not None and supervisors in (pk_set or ())):
        end_sockets(instance.pk, boards_only=True)
