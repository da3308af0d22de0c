"""Shared stored-response libraries to and from files (CSV or JSON), for supervisors.

One row per response, the same columns in both formats:
`library, category, name, shortcut, labels, text`. JSON is
`{"responses": [{…row…}, …]}` (a bare list is accepted too). Importing
creates missing shared libraries and categories, and updates a response
that has the same library, category and name; it never deletes. A file with
any bad row imports nothing and says which rows are wrong. A CSV cell that
starts like a spreadsheet formula is exported with a leading `'`
(`routing.csv_cells`), and that quote is taken off again on import.
"""

import csv
import io
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import QuerySet

from routing.csv_cells import restore_cell, safe_cell
from routing.models import ResponseCategory, ResponseLibrary, StoredResponse
from routing.rules import MAX_TEXT_LENGTH

COLUMNS = ["library", "category", "name", "shortcut", "labels", "text"]
REQUIRED = ["library", "category", "name", "text"]
MAX_LENGTHS = {"library": 100, "category": 100, "name": 100, "shortcut": 40, "labels": 200}
MAX_FILE_BYTES = 1024 * 1024
# Beyond this many, the list of bad rows is cut short.
MAX_PROBLEMS_SHOWN = 20


class ImportRefused(ValueError):
    """The file cannot be imported; `problems` say why, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int
    unchanged: int


# --- export ----------------------------------------------------------------------


def export_rows(libraries: QuerySet[ResponseLibrary]) -> list[dict[str, str]]:
    responses = (
        StoredResponse.objects.filter(category__library__in=libraries)
        .select_related("category__library")
        .order_by("category__library__name", "category__name", "name", "pk")
    )
    return [
        {
            "library": r.category.library.name,
            "category": r.category.name,
            "name": r.name,
            "shortcut": r.shortcut,
            "labels": r.labels,
            "text": r.text,
        }
        for r in responses
    ]


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: safe_cell(value) for key, value in row.items()} for row in rows)
    return out.getvalue()


def to_json(rows: list[dict[str, str]]) -> str:
    return json.dumps({"responses": rows}, ensure_ascii=False, indent=2) + "\n"


# --- import ----------------------------------------------------------------------


def parse(filename: str, data: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded file, checked; ImportRefused with every problem found."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused([f"The file is over {MAX_FILE_BYTES // 1024} KiB."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(["The file is not UTF-8 text."]) from None
    if not text.strip():
        raise ImportRefused(["The file is empty."])
    is_json = filename.lower().endswith(".json") or text.lstrip()[:1] in ("{", "[")
    rows = _json_rows(text) if is_json else _csv_rows(text)
    _check(rows)
    return rows


def _json_rows(text: str) -> list[dict[str, str]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportRefused(
            [f"The JSON is not valid (line {error.lineno}: {error.msg})."]
        ) from None
    items = document.get("responses") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ImportRefused(['The JSON must be {"responses": [...]} or a list of responses.'])
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ImportRefused([f"Response {number} is not an object with named fields."])
        rows.append({column: _text(item.get(column)) for column in COLUMNS})
    return rows


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise ImportRefused(
            [
                f"The CSV header must name the columns {', '.join(COLUMNS)}; missing: "
                f"{', '.join(missing)}."
            ]
        )
    reader.fieldnames = header
    try:
        # Undo the quote our export puts before text that starts like a formula.
        return [
            {column: restore_cell(_text(row.get(column))) for column in COLUMNS} for row in reader
        ]
    except csv.Error as error:
        raise ImportRefused([f"The CSV is not valid: {error}."]) from None


def _text(value) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def _check(rows: list[dict[str, str]]) -> None:
    problems = []
    if not rows:
        problems.append("The file holds no responses.")
    for number, row in enumerate(rows, start=1):
        for column in REQUIRED:
            if not row[column]:
                problems.append(f"Response {number}: {column} is empty.")
        for column, limit in MAX_LENGTHS.items():
            if len(row[column]) > limit:
                problems.append(f"Response {number}: {column} is over {limit} characters.")
        if len(row["text"]) > MAX_TEXT_LENGTH:
            problems.append(f"Response {number}: text is over {MAX_TEXT_LENGTH} characters.")
        if row["shortcut"]:
            try:
                validate_slug(row["shortcut"])
            except ValidationError:
                problems.append(
                    f"Response {number}: the shortcut may hold only letters, digits, - and _."
                )
    if problems:
        if len(problems) > MAX_PROBLEMS_SHOWN:
            more = len(problems) - MAX_PROBLEMS_SHOWN
            problems = problems[:MAX_PROBLEMS_SHOWN] + [f"…and {more} more."]
        raise ImportRefused(problems)


def import_rows(rows: list[dict[str, str]]) -> Imported:
    """Write checked rows into shared libraries, all or nothing."""
    created = updated = unchanged = 0
    with transaction.atomic():
        for row in rows:
            library, _ = ResponseLibrary.objects.get_or_create(name=row["library"], owner=None)
            category, _ = ResponseCategory.objects.get_or_create(
                library=library, name=row["category"]
            )
            fields = {"shortcut": row["shortcut"], "labels": row["labels"], "text": row["text"]}
            response = (
                StoredResponse.objects.select_for_update()
                .filter(category=category, name=row["name"])
                .first()
            )
            if response is None:
                StoredResponse.objects.create(category=category, name=row["name"], **fields)
                created += 1
            elif any(getattr(response, key) != value for key, value in fields.items()):
                for key, value in fields.items():
                    setattr(response, key, value)
                response.save(update_fields=list(fields))
                updated += 1
            else:
                unchanged += 1
    return Imported(created=created, updated=updated, unchanged=unchanged)
