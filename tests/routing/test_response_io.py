"""Stored responses to and from CSV and JSON files."""

import json

import pytest
from django.contrib.auth import get_user_model

from routing import response_io
from routing.models import ResponseCategory, ResponseLibrary, StoredResponse
from routing.response_io import ImportRefused

pytestmark = pytest.mark.django_db

HEADER = "library,category,name,shortcut,labels,text\n"


def test_export_rows_in_order_and_both_formats():
    library = ResponseLibrary.objects.create(name="Acme")
    orders = ResponseCategory.objects.create(library=library, name="Orders")
    greetings = ResponseCategory.objects.create(library=library, name="Greetings")
    StoredResponse.objects.create(category=orders, name="Delay", text="Sorry,\nlate")
    StoredResponse.objects.create(category=greetings, name="Hi", shortcut="hi", text="Hi!")
    own = ResponseLibrary.objects.create(
        name="Mine", owner=get_user_model().objects.create_user("ann")
    )
    StoredResponse.objects.create(
        category=ResponseCategory.objects.create(library=own, name="X"), name="Y", text="Z"
    )

    rows = response_io.export_rows(ResponseLibrary.objects.filter(pk=library.pk))
    assert [(r["category"], r["name"]) for r in rows] == [("Greetings", "Hi"), ("Orders", "Delay")]
    assert response_io.to_csv(rows) == (
        HEADER + 'Acme,Greetings,Hi,hi,,Hi!\nAcme,Orders,Delay,,,"Sorry,\nlate"\n'
    )
    assert json.loads(response_io.to_json(rows)) == {"responses": rows}


def test_formula_cells_are_neutralised_on_export_and_round_trip():
    library = ResponseLibrary.objects.create(name="Acme")
    category = ResponseCategory.objects.create(library=library, name="@Greetings")
    formula = '=HYPERLINK("http://x","y")'
    StoredResponse.objects.create(
        category=category, name=formula, shortcut="-hi", labels="+a", text="-1\n=2"
    )

    exported_rows = response_io.export_rows(ResponseLibrary.objects.all())
    exported = response_io.to_csv(exported_rows)
    assert exported == (
        HEADER + 'Acme,\'@Greetings,"\'=HYPERLINK(""http://x"",""y"")",\'-hi,\'+a,"\'-1\n=2"\n'
    )
    # Reading our own file back gives the stored text exactly: nothing changes.
    rows = response_io.parse("r.csv", exported.encode())
    assert (rows[0]["category"], rows[0]["name"], rows[0]["text"]) == (
        "@Greetings",
        formula,
        "-1\n=2",
    )
    assert response_io.import_rows(rows) == response_io.Imported(0, 0, 1)
    # JSON is not a spreadsheet: written and read as it is.
    assert json.loads(response_io.to_json(exported_rows))["responses"] == exported_rows
    assert exported_rows[0]["name"] == formula


def test_import_creates_updates_and_leaves_alone():
    first = response_io.parse("r.csv", (HEADER + "Acme,Greetings,Hi,hi,a,Hello\n").encode())
    assert response_io.import_rows(first) == response_io.Imported(1, 0, 0)
    assert response_io.import_rows(first) == response_io.Imported(0, 0, 1)
    changed = response_io.parse(
        "r.json",
        json.dumps(
            [{"library": "Acme", "category": "Greetings", "name": "Hi", "text": "Hello there"}]
        ).encode(),
    )
    assert response_io.import_rows(changed) == response_io.Imported(0, 1, 0)
    response = StoredResponse.objects.select_related("category__library").get()
    assert (response.text, response.shortcut, response.category.library.owner) == (
        "Hello there",
        "",
        None,
    )


def test_headers_in_any_case_and_a_byte_order_mark_are_fine():
    data = "\ufeffLibrary,Category,Name,Text\nA,B,C,D\n".encode()
    assert response_io.parse("x.csv", data) == [
        {"library": "A", "category": "B", "name": "C", "shortcut": "", "labels": "", "text": "D"}
    ]


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("x.csv", b"", "The file is empty."),
        ("x.csv", b"\xff\xfe\x00", "The file is not UTF-8 text."),
        ("x.csv", b"name,text\nA,B\n", "missing: library, category."),
        ("x.csv", HEADER.encode(), "The file holds no responses."),
        ("x.json", b"{nope", "The JSON is not valid (line 1"),
        ("x.json", b'{"items": []}', 'The JSON must be {"responses": [...]}'),
        ("x.json", b"[1]", "Response 1 is not an object with named fields."),
        ("x.csv", (HEADER + "A,B,C,,," + "x" * 2000 + "\n").encode(), "text is over 1999"),
        ("x.csv", (HEADER + "A,B,C,no spaces!,,D\n").encode(), "the shortcut may hold only"),
        ("x.csv", b"x" * (1024 * 1024 + 1), "The file is over 1024 KiB."),
    ],
)
def test_bad_files_say_why(filename, data, problem):
    with pytest.raises(ImportRefused) as refused:
        response_io.parse(filename, data)
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_a_long_list_of_problems_is_cut_short():
    data = (HEADER + ",,,,,\n" * 30).encode()
    with pytest.raises(ImportRefused) as refused:
        response_io.parse("x.csv", data)
    assert len(refused.value.problems) == response_io.MAX_PROBLEMS_SHOWN + 1
    assert refused.value.problems[-1] == "…and 100 more."
