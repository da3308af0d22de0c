"""The reads of one row by its key: the row, or None, and no ORDER BY to compile."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing import selectors, transcript_selectors
from routing.lookups import row_or_none, save_fields
from routing.models import Interaction
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

# Committed: the customer is offered (after commit) to the agent.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def offered():
    workgroup = make_workgroup()
    make_page(workgroup)
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup, text="Hello?")
    interaction = refresh(received.interaction)
    assert interaction.agent_id == agent.pk
    return agent, interaction, received.message


def test_the_row_a_key_names_or_none():
    workgroup = make_workgroup()
    assert row_or_none(type(workgroup).objects.filter(pk=workgroup.pk)) == workgroup
    assert row_or_none(type(workgroup).objects.filter(pk=workgroup.pk + 1000)) is None


def test_the_hottest_reads_of_one_row_are_not_ordered(offered):
    agent, interaction, message = offered
    reads = {
        "interaction_by_id": lambda: selectors.interaction_by_id(interaction.pk),
        "interactions_by_id": lambda: selectors.interactions_by_id([interaction.pk])[
            interaction.pk
        ],
        "agent_by_id": lambda: selectors.agent_by_id(agent.pk),
        "agent_for_user": lambda: selectors.agent_for_user(agent.user),
        "agents_by_id": lambda: selectors.agents_by_id([agent.pk])[agent.pk],
        "workgroup_by_id": lambda: selectors.workgroup_by_id(interaction.workgroup_id),
        "message_in": lambda: transcript_selectors.message_in(interaction.pk, message.pk),
    }
    for name, read in reads.items():
        with CaptureQueriesContext(connection) as queries:
            found = read()
        assert found is not None, name
        assert len(queries) == 1, name
        assert "ORDER BY" not in queries[0]["sql"], name
    # What they read is what they always read: the row and its related rows.
    read = selectors.interaction_by_id(interaction.pk)
    assert isinstance(read, Interaction)
    with CaptureQueriesContext(connection) as queries:
        assert (read.customer.pk, read.workgroup.pk, read.agent.user.pk) == (
            interaction.customer_id,
            interaction.workgroup_id,
            agent.user_id,
        )
    assert len(queries) == 0


def test_rows_are_written_back_in_one_update_a_single_one_without_a_case_per_field():
    workgroup = make_workgroup()
    ann, bob = make_agent(workgroups=[workgroup]), make_agent(workgroups=[workgroup])
    ann.capacity, bob.capacity = 3, 4

    with CaptureQueriesContext(connection) as queries:
        save_fields(type(ann), [ann], ["capacity"])
    [update] = [q["sql"] for q in queries.captured_queries]
    assert update.startswith("UPDATE") and "CASE" not in update
    assert refresh(ann).capacity == 3

    ann.capacity = 5
    with CaptureQueriesContext(connection) as queries:
        save_fields(type(ann), {ann.pk: ann, bob.pk: bob}.values(), ["capacity"])
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 1
    assert (refresh(ann).capacity, refresh(bob).capacity) == (5, 4)

    with CaptureQueriesContext(connection) as queries:
        save_fields(type(ann), [], ["capacity"])
    assert len(queries) == 0
