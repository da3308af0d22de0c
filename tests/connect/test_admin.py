"""The project's admin site: its header and index lead supervisors to the board and reports."""

import pytest

from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor():
    return make_supervisor()


def test_the_admin_header_and_index_link_to_the_board_and_reports(supervisor):
    page = logged_in(supervisor).get("/admin/").content.decode()
    assert 'href="/board/">Live board</a>' in page
    assert 'href="/reports/">Reports</a>' in page
    assert "Connect administration" in page
