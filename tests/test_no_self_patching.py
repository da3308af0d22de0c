"""Tests change our own code only through the seams it offers on purpose.

A test may fake what leaves the project (the Graph API, by the fake server)
and patch Django, the standard library or time; it must not monkeypatch a
module of ours (routing, facebook, connect). The seams it may use instead:

- `facebook.inbound.HANDLERS`, the dispatch table (the `inbound_handlers`
  fixture, and the second router process of tests/facebook/ingest_worker.py);
- a paused `facebook.background.BackgroundPool` (the `sender_pool` fixture);
- Django settings (the `settings` fixture), and receivers connected to
  routing's signals (`routing_event`, `outbound_ready`).
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
OURS = ("routing", "facebook", "connect")
# (module, attribute) a test may change in place: the seams named above.
SEAMS = {("facebook.inbound", "HANDLERS")}
PATCHERS = {"setattr", "delattr", "setitem", "delitem"}
MOCK_PATCHERS = {"patch", "object", "dict", "multiple"}


def _is_ours(module: str) -> bool:
    return module.split(".")[0] in OURS


def _our_names(tree: ast.AST) -> dict[str, str]:
    """Local name → the dotted name of what it refers to, for names imported from our code."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_ours(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and _is_ours(node.module):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    """`acd.offer_waiting` → "routing.services.acd.offer_waiting" when its root is ours."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in names:
        return ".".join([names[node.id], *reversed(parts)])
    return None


def _is_seam(target: str) -> bool:
    return any(target == f"{module}.{attribute}" for module, attribute in SEAMS)


def self_patches(source: str) -> list[str]:
    """Every place `source` patches our own code outside the seams, as "line: what"."""
    tree = ast.parse(source)
    names = _our_names(tree)
    found = []
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func, first = node.func, node.args[0]
            caller = _dotted(func.value, {"mock": "mock", "patch": "patch"}) or ""
            is_patch = func.attr in PATCHERS or (
                func.attr in MOCK_PATCHERS and caller.split(".")[-1] in {"mock", "patch"}
            )
            if not is_patch:
                continue
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = first.value if _is_ours(first.value) else None
            else:
                target = _dotted(first, names)
                named = node.args[1] if len(node.args) > 1 else None
                if (
                    target
                    and func.attr in {"setattr", "delattr", "object"}
                    and isinstance(named, ast.Constant)
                    and isinstance(named.value, str)
                ):
                    target = f"{target}.{named.value}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            first = node.args[0]
            if node.func.id == "patch" and isinstance(first, ast.Constant):
                target = first.value if _is_ours(str(first.value)) else None
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for assigned in targets:
                if isinstance(assigned, ast.Subscript):
                    assigned = assigned.value
                if isinstance(assigned, ast.Attribute):
                    target = _dotted(assigned, names) or target
        if target and not _is_seam(target):
            found.append((node.lineno, target))
    return [f"{line}: {target}" for line, target in sorted(found)]


def test_no_test_patches_our_own_code_outside_the_seams():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for place in self_patches(path.read_text()):
            found.append(f"{path.relative_to(TESTS.parent)}:{place}")
    assert found == []


def test_the_check_sees_each_way_of_patching():
    source = """
from unittest import mock
from unittest.mock import patch
import routing.services.acd as acd_module
from facebook import inbound, sender
from routing.services import acd
from connect.live import renderer

def test(monkeypatch):
    monkeypatch.setattr(acd, "offer_waiting", None)
    monkeypatch.setattr("facebook.sender.submit", None)
    monkeypatch.setitem(inbound.HANDLERS, object, None)
    monkeypatch.setattr(acd_module, "offer_waiting", None)
    monkeypatch.setattr(renderer, "render", None)
    mock.patch.object(sender, "submit")
    patch("routing.services.acd.offer_waiting")
    sender.submit = None
    monkeypatch.setattr(time, "sleep", None)
    monkeypatch.setenv("DEBUG", "1")
    inbound.HANDLERS[object] = None
"""
    assert [place.split(": ")[1] for place in self_patches(source)] == [
        "routing.services.acd.offer_waiting",
        "facebook.sender.submit",
        "routing.services.acd.offer_waiting",
        "connect.live.renderer.render",
        "facebook.sender.submit",
        "routing.services.acd.offer_waiting",
        "facebook.sender.submit",
    ]
