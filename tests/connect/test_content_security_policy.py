"""A Content-Security-Policy with no inline script, handler or eval, and templates
that need none: scripts come from our static files only."""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import make_agent, make_workgroup
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

# <script> without a src: an inline script.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
# onclick=, onerror=, … as an attribute (after whitespace, before `=`).
HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
# What htmx evaluates as JavaScript, blocked without 'unsafe-eval'.
HTMX_EVAL = re.compile(r"hx-on|hx-vars|(?:hx-vals|hx-headers)\s*=\s*['\"]\s*(?:js|javascript):")
INLINE_STYLE = re.compile(r"\sstyle\s*=|<style\b", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_the_desktop_forbids_inline_script_and_eval():
    agent = make_agent(workgroups=[make_workgroup()])

    response = logged_in(agent.user).get("/")

    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]  # the same-origin websocket too
    # blob: for the previews of files chosen in the composer, before they are sent.
    assert directives["img-src"] == ["'self'", "data:", "blob:", "https:"]
    assert directives["media-src"] == ["'self'", "https:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]


@pytest.mark.parametrize("path", ["/accounts/login/", "/simulator/", "/admin/login/"])
def test_every_page_carries_the_policy(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_admin_still_renders_with_its_scripts_and_our_stylesheet():
    response = logged_in(make_supervisor()).get("/admin/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/admin/js/" in html or "/static/admin/css/" in html
    assert "/static/connect/admin.css" in html
    assert not INLINE_SCRIPT.search(html)


def test_htmx_is_told_not_to_eval_or_inject_styles():
    for name in ("base.html", "simulator/page.html"):
        text = (ROOT / "templates" / name).read_text()
        assert '"allowEval":false' in text, name
        assert '"includeIndicatorStyles":false' in text, name


def test_no_template_has_inline_script_handlers_eval_or_style():
    assert TEMPLATES
    found = []
    for path in TEMPLATES:
        text = path.read_text()
        for rule in (INLINE_SCRIPT, HANDLER_ATTRIBUTE, HTMX_EVAL, INLINE_STYLE):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in rule.finditer(text)]
    assert found == []


def test_no_view_code_writes_inline_style_or_script():
    found = []
    for package in ("connect", "facebook", "routing"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            if re.search(r"""\sstyle=\\?["']|<script>|\sonerror=|\sonclick=""", text):
                found.append(str(path.relative_to(ROOT)))
    assert found == []


def test_the_customer_picture_falls_back_without_an_inline_handler():
    customer = (ROOT / "templates" / "desktop" / "_customer.html").read_text()
    script = (ROOT / "static" / "connect" / "desktop.js").read_text()

    assert "data-remove-on-error" in customer
    assert 'addEventListener("error"' in script
    assert "data-remove-on-error" in script
