"""Rules of the code's shape that a test can hold: the agent's side reads through selectors.

`connect/` (views, fragments, consumers, the board, metrics…) reads the
database only through the selector functions of `routing` and `facebook`,
and changes it only through `routing.services`. Admin modules, migrations
and management commands are Django's own ways in and stay out of this rule.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Calls that only a QuerySet or a model manager answers to.
QUERY_METHODS = frozenset(
    {
        "aggregate",
        "annotate",
        "bulk_create",
        "bulk_update",
        "defer",
        "exclude",
        "extra",
        "filter",
        "get_or_create",
        "in_bulk",
        "only",
        "order_by",
        "prefetch_related",
        "raw",
        "select_for_update",
        "select_related",
        "update_or_create",
        "values_list",
    }
)


def orm_uses(source: str) -> list[str]:
    """Where `source` queries the database itself: `line: what`, in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append((node.lineno, ".objects"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
        ):
            found.append((node.lineno, f".{node.func.attr}()"))
        elif (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("django.db.models")
            # Signals are how connect hears of changes, not a way to query.
            and node.module != "django.db.models.signals"
        ):
            found.append((node.lineno, f"from {node.module} import …"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def checked_modules() -> list[Path]:
    modules = []
    for path in sorted((ROOT / "connect").rglob("*.py")):
        relative = path.relative_to(ROOT / "connect")
        if relative.name.startswith("admin") or relative.parts[0] in ("migrations", "management"):
            continue
        modules.append(path)
    return modules


def test_the_check_finds_direct_orm_use():
    source = (
        "from django.db.models import Count\n"
        "from routing.models import Interaction\n"
        "def waiting(workgroup):\n"
        "    rows = Interaction.objects.filter(workgroup=workgroup)\n"
        "    return rows.select_related('customer').annotate(n=Count('pk'))\n"
    )
    assert orm_uses(source) == [
        "1: from django.db.models import …",
        "4: .filter()",
        "4: .objects",
        "5: .annotate()",
        "5: .select_related()",
    ]
    assert orm_uses("from django.db.models.signals import post_save\nx = {}.get('a')\n") == []


def test_connect_reads_the_database_only_through_selectors():
    modules = checked_modules()
    assert ROOT / "connect" / "views.py" in modules
    assert not any(path.name.startswith("admin") for path in modules)
    offending = {
        str(path.relative_to(ROOT)): uses
        for path in modules
        if (uses := orm_uses(path.read_text()))
    }
    assert offending == {}, "use a selector of routing or facebook instead"
