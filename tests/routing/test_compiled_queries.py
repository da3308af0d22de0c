"""Hot reads compiled once per shape, their arguments filled in on each run."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing.compiled_queries import CompiledQuery, CompileError
from routing.models import Agent, Interaction
from routing.models import InteractionState as S
from routing.services import acd
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)


def _counting(build):
    """`build`, noting the stand-ins and constants of each shape it was built for
    (twice per shape: the second build shows whether anything else changed)."""
    shapes = set()

    def counted(*args, **kwargs):
        shapes.add((args, tuple(sorted(kwargs.items()))))
        return build(*args, **kwargs)

    return counted, shapes


def test_a_query_is_built_once_per_shape_and_run_with_each_calls_values():
    ann, bob, cleo = make_agent("ann"), make_agent("bob"), make_agent("cleo")
    build, calls = _counting(
        lambda agent_id: Agent.objects.filter(pk=agent_id).values_list("user__username")
    )
    query = CompiledQuery(build)

    assert query.values(ann.pk) == [("ann",)]
    assert query.values(bob.pk) == [("bob",)]
    assert query.values(cleo.pk) == [("cleo",)]
    assert len(calls) == 1


def test_a_tuple_of_ids_has_one_shape_per_length():
    agents = [make_agent(f"agent{n}") for n in range(4)]
    build, calls = _counting(
        lambda ids: Agent.objects.filter(pk__in=ids).order_by("pk").values_list("pk")
    )
    query = CompiledQuery(build)

    def ids(*chosen):
        return [pk for (pk,) in query.values(tuple(agents[n].pk for n in chosen))]

    assert ids(0, 1) == [agents[0].pk, agents[1].pk]
    assert ids(2, 3) == [agents[2].pk, agents[3].pk]
    assert ids(1, 2, 3) == [agents[1].pk, agents[2].pk, agents[3].pk]
    assert ids() == []
    assert len(calls) == 3  # two, three and no ids


def test_a_constant_is_part_of_the_shape():
    workgroup = make_workgroup()
    for n in range(3):
        make_agent(f"agent{n}", workgroups=[workgroup])
    build, calls = _counting(
        lambda workgroup_id, *, most: (
            Agent.objects.filter(workgroups=workgroup_id).order_by("pk").values_list("pk")[:most]
        )
    )
    query = CompiledQuery(build)

    assert len(query.values(workgroup.pk, most=1)) == 1
    assert len(query.values(workgroup.pk, most=2)) == 2
    assert len(query.values(workgroup.pk, most=1)) == 1
    assert len(calls) == 2


def test_text_is_an_argument_too():
    ann, bob = make_agent("ann"), make_agent("bob")
    build, shapes = _counting(
        lambda names: (
            Agent.objects.filter(user__username__in=names).order_by("pk").values_list("pk")
        )
    )
    query = CompiledQuery(build)

    assert query.values(("ann", "bob")) == [(ann.pk,), (bob.pk,)]
    assert query.values(("bob", "nobody")) == [(bob.pk,)]
    assert len(shapes) == 1


def test_a_value_the_lookup_rewrites_is_refused_not_filled_in_wrongly():
    # A number for a text field becomes text; `contains` wraps its value in %.
    by_status = CompiledQuery(lambda status: Agent.objects.filter(status=status))
    with pytest.raises(CompileError, match="not a parameter"):
        by_status.values(1)
    containing = CompiledQuery(lambda name: Agent.objects.filter(user__username__contains=name))
    with pytest.raises(CompileError, match="not a parameter"):
        containing.values("an")
    with pytest.raises(CompileError, match="integers and text"):
        by_status.values(True)


def test_whole_rows_come_back_as_the_orm_makes_them_related_rows_and_annotations_too():
    workgroup = make_workgroup("Billing")
    waiting = refresh(customer_writes(workgroup, psid="7600000000000001").interaction)
    query = CompiledQuery(
        lambda workgroup_id: (
            Interaction.objects.filter(workgroup_id=workgroup_id, state=S.QUEUED)
            .select_related("customer", "workgroup")
            .annotate(messages_in=Count("messages"))
        )
    )

    with CaptureQueriesContext(connection) as queries:
        [found] = query.objects(workgroup.pk)
        assert found.customer.psid == "7600000000000001"
        assert found.workgroup.name == "Billing"
    assert len(queries) == 1  # the related rows came with it
    assert found.pk == waiting.pk and found.messages_in == 1
    assert found.queued_at == waiting.queued_at  # a datetime, as the ORM reads it
    assert query.objects(workgroup.pk + 1000) == []

    found.priority = 3
    found.save(update_fields=["priority"])  # an instance like any other
    assert refresh(waiting).priority == 3


def test_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    workgroup = make_workgroup()
    locking = CompiledQuery(
        lambda workgroup_id: Interaction.objects.select_for_update().filter(
            workgroup_id=workgroup_id
        )
    )
    with transaction.atomic():
        assert locking.objects(workgroup.pk) == []
    with pytest.raises(TransactionManagementError):
        locking.objects(workgroup.pk)


def test_a_build_that_keeps_a_moment_or_drops_an_argument_is_refused():
    at_build = CompiledQuery(
        lambda agent_id: Agent.objects.filter(pk=agent_id, idle_since__lt=timezone.now())
    )
    with pytest.raises(CompileError, match="Now()"):
        at_build.values(1)

    ignoring = CompiledQuery(lambda agent_id: Agent.objects.filter(Q(pk__gt=0)))
    with pytest.raises(CompileError, match="not a parameter"):
        ignoring.values(1)


def test_an_agent_resting_after_a_contact_is_not_rung_until_the_databases_clock_says_so():
    workgroup = make_workgroup()
    ann = make_agent("ann", workgroups=[workgroup])
    earlier = refresh(customer_writes(workgroup, psid="7600000000000201").interaction)
    assert earlier.agent_id == ann.pk
    Interaction.objects.filter(pk=earlier.pk).update(
        state=S.DISCONNECTED, after_contact_until=timezone.now() + timedelta(minutes=1)
    )

    waiting = refresh(customer_writes(workgroup, psid="7600000000000202").interaction)
    assert waiting.state == S.QUEUED  # Ann rests: nobody else to ring

    Interaction.objects.filter(pk=earlier.pk).update(
        after_contact_until=timezone.now() - timedelta(seconds=1)
    )
    assert acd.offer_waiting(workgroup_id=workgroup.pk) == 1
    assert refresh(waiting).agent_id == ann.pk
