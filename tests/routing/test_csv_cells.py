"""CSV cells a spreadsheet will not run as formulas, and back."""

import pytest

from routing.csv_cells import restore_cell, safe_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        # Already quoted by hand: one more quote, so reading it back is exact.
        ("'=1", "''=1"),
        ("''+1", "'''+1"),
        ("Hello", "Hello"),
        ("it's", "it's"),
        ("'quoted'", "'quoted'"),
        ("a=b", "a=b"),
        ("", ""),
        (12, 12),
        (None, None),
    ],
)
def test_formula_cells_are_quoted_and_read_back_exactly(value, written):
    assert safe_cell(value) == written
    if isinstance(value, str):
        assert restore_cell(written) == value


def test_text_we_did_not_quote_is_read_as_it_is():
    assert restore_cell("'quoted'") == "'quoted'"
    assert restore_cell("'") == "'"
