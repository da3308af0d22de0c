"""CSV cells a spreadsheet will not run as formulas (CSV injection).

Every CSV the project writes passes its cells through `safe_cell`: text that
starts like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a
leading `'`, which spreadsheets read as "this is text". Text that already
starts with quotes before such a character gets one more, so `restore_cell`
can take exactly the added quote off when one of our files is read back.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value` as written to a CSV cell; anything but text is left as it is."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The text `safe_cell` was given, from a cell it wrote."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text
