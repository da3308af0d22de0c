"""Routing's configuration: read once per batch, kept a second for the next
batches, forgotten at once when it changes in this process."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from routing import config_cache
from routing.models import BusinessHours, Skill, Workgroup
from routing.services.kernel import workgroup_config
from tests.factories import make_workgroup

pytestmark = pytest.mark.django_db


def _read_in_a_batch(workgroup_id: int) -> tuple[Workgroup | None, int]:
    """The workgroup as a router batch reads it, and the queries that took."""
    with CaptureQueriesContext(connection) as queries, config_cache.reading_config_once():
        workgroup = workgroup_config(workgroup_id)
    return workgroup, len(queries)


def test_the_next_batch_within_a_second_reads_no_configuration_again():
    workgroup = make_workgroup("Sales")
    first, asked = _read_in_a_batch(workgroup.pk)
    assert (first.name, asked) == ("Sales", 1)
    again, asked = _read_in_a_batch(workgroup.pk)
    assert (again.name, asked) == ("Sales", 0)


def test_outside_a_batch_every_read_goes_to_the_database():
    workgroup = make_workgroup("Sales")
    _read_in_a_batch(workgroup.pk)
    with CaptureQueriesContext(connection) as queries:
        assert workgroup_config(workgroup.pk).name == "Sales"
    assert len(queries) == 1


def test_a_change_saved_in_this_process_is_read_by_the_next_batch():
    workgroup = make_workgroup("Sales")
    _read_in_a_batch(workgroup.pk)
    workgroup.name = "Sales and returns"
    workgroup.save()
    changed, asked = _read_in_a_batch(workgroup.pk)
    assert (changed.name, asked) == ("Sales and returns", 1)


@pytest.mark.parametrize(
    "change",
    [
        lambda workgroup: BusinessHours.objects.create(
            workgroup=workgroup, weekday=0, opens="09:00", closes="17:00"
        ),
        lambda workgroup: workgroup.required_skills.add(Skill.objects.create(name="French")),
    ],
    ids=["business hours", "required skills"],
)
def test_a_change_to_what_a_workgroup_holds_forgets_it_too(change):
    workgroup = make_workgroup("Sales")
    _read_in_a_batch(workgroup.pk)
    change(workgroup)
    _, asked = _read_in_a_batch(workgroup.pk)
    assert asked == 1


def test_a_change_made_elsewhere_is_read_within_a_second():
    workgroup = make_workgroup("Sales")
    _read_in_a_batch(workgroup.pk)
    # Another process's change: no signal here.
    Workgroup.objects.filter(pk=workgroup.pk).update(name="Sales and returns")
    kept, _ = _read_in_a_batch(workgroup.pk)
    assert kept.name == "Sales"
    time.sleep(config_cache.SHARED_FOR)
    changed, asked = _read_in_a_batch(workgroup.pk)
    assert (changed.name, asked) == ("Sales and returns", 1)
