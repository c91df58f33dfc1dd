"""The one stylesheet (static/css/site.css) and the icon sprite (static/icons/sprite.svg) are
built from the sources by `make css`, and what the templates use is in them."""

from __future__ import annotations

import re
from pathlib import Path

import tinycss2
from django.conf import settings
from django.template import Context, Template

from scripts import build_css, build_icons

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# Rendered by WeasyPrint with their own <style>, never served as pages.
PDF_TEMPLATES = {"children/agreement_pdf.html", "children/child_file_pdf.html"}
# Classes the templates carry that need no style: hooks for tests and scripts, and crispy's marker
# of a required field's asterisk.
NO_STYLE_NEEDED = {
    "sw-history",  # tests find the history list by it
    "sw-home-notice",  # tests find the home page notices by it
    "sw-home-panels",  # the work-queue panels' wrapper
    "asteriskField",  # crispy-bootstrap5
    "sw-error-summary",  # a form's list of errors (partials/form_errors.html): an alert
}


def test_site_css_is_what_make_css_builds():
    built = build_css.build()
    committed = build_css.OUTPUT.read_text(encoding="utf-8")
    assert built == committed, "static/css/site.css is out of date with its sources: run `make css`"


def test_sprite_is_what_make_css_builds():
    built = build_icons.build()
    committed = build_icons.SPRITE.read_text(encoding="utf-8")
    assert built == committed, "static/icons/sprite.svg is out of date: run `make css`"


def _page_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.relative_to(TEMPLATES).as_posix() not in PDF_TEMPLATES
    ]


def _styled(stylesheet: Path) -> set[str]:
    """Every class a stylesheet's selectors mention (inside :not() and the like too)."""

    def names(nodes) -> set[str]:
        found: set[str] = set()
        for node in nodes:
            if node.type == "qualified-rule":
                found |= build_css.selector_names(node.prelude)
            elif node.type == "at-rule" and node.content:
                found |= names(tinycss2.parse_rule_list(node.content, True, True))
        return found

    text = stylesheet.read_text(encoding="utf-8")
    return names(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True))


def test_every_class_in_the_templates_is_styled_or_known_to_need_no_style():
    used = build_css.Used()
    for path in _page_templates():
        used.add_html(path.read_text(encoding="utf-8"), str(path))
    assert len(used.attribute_classes) > 200
    # progress_report.css: the yearly report's own sheet, linked by that page only.
    styled = _styled(build_css.OUTPUT) | _styled(ROOT / "static" / "css" / "progress_report.css")
    unstyled = used.attribute_classes - styled - NO_STYLE_NEEDED
    assert not unstyled, f"classes with no rule in site.css (a typo, or `make css`?): {unstyled}"
    assert not NO_STYLE_NEEDED - used.attribute_classes - {"asteriskField"}, "stale allowlist"


def test_every_class_built_from_a_value_is_declared():
    """class="text-bg-{{ tone }}": build_css keeps text-bg-* only for the values it is told of."""
    dynamic = build_css.used_names().dynamic
    assert "text-bg-" in dynamic
    for fragment, origin in dynamic.items():
        if fragment.startswith("{{"):
            assert fragment[3:-3] in build_css.DYNAMIC_WHOLE, (fragment, origin)
        else:
            assert fragment in build_css.DYNAMIC_PREFIXES, (fragment, origin)


def test_the_bundle_keeps_what_pages_need_and_drops_what_they_do_not():
    css = build_css.OUTPUT.read_text(encoding="utf-8")
    for needed in [
        ".navbar-expand-md .navbar-collapse",  # the navbar menu
        ".collapse:not(.show)",
        ".dropdown-menu.show",
        ".dropdown-menu-end[data-bs-popper]",
        ".text-bg-danger",  # text-bg-{{ tone }}
        ".alert-success",  # alert-{{ message.tags }}
        ".is-invalid",  # crispy-bootstrap5, on a field with an error
        ".invalid-feedback",
        ".bi{",  # the icons
        "@media print",
    ]:
        assert needed in css, needed
    for unused in [
        ".modal",
        ".carousel",
        ".tooltip",
        ".offcanvas",
        "[data-bs-theme=dark]",
        "--bs-indigo",
    ]:
        assert unused not in css, unused
    assert css.isascii()
    assert len(css) < 100_000


def test_pages_link_one_stylesheet_and_no_bootstrap_javascript_or_icon_font():
    links = []
    for path in _page_templates():
        text = path.read_text(encoding="utf-8")
        links += re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
        assert "bootstrap.bundle" not in text and "bootstrap-icons" not in text, path
        assert 'class="bi ' not in text, f"{path}: use {{% icon %}}"
    assert "{% static 'css/site.css' %}" in links
    assert {link for link in links if "site.css" not in link} <= {
        "{% static 'css/progress_report.css' %}",
        "/static/css/error.css",  # the 400/413/500 pages, plain HTML without template tags
    }
    assert not (ROOT / "static" / "vendor" / "bootstrap-icons").exists()
    assert not (ROOT / "static" / "vendor" / "bootstrap" / "bootstrap.bundle.min.js").exists()


def test_every_icon_the_templates_name_is_in_the_sprite():
    sprite = build_icons.sprite_symbols(build_icons.SPRITE.read_text(encoding="utf-8"))
    used = build_icons.used_icons()
    assert len(used) > 30
    assert used <= set(sprite), (
        f"icons missing from the sprite (run `make css`): {used - set(sprite)}"
    )
    assert set(sprite) <= used, "the sprite carries icons nothing uses (run `make css`)"
    for box, body in sprite.values():
        assert box == "0 0 16 16" and body.startswith("<path")
    assert (build_icons.ICONS_DIR / "LICENSE").read_text().startswith("The MIT License")


def test_icon_tag_draws_the_sprite_symbol_hidden_from_screen_readers():
    html = Template('{% load icons %}{% icon "bell" %}{% icon "gear" "text-danger" %}').render(
        Context()
    )
    assert html == (
        '<svg class="bi" width="1em" height="1em" aria-hidden="true" focusable="false">'
        '<use href="/static/icons/sprite.svg#bell"></use></svg>'
        '<svg class="bi text-danger" width="1em" height="1em" aria-hidden="true" focusable="false">'
        '<use href="/static/icons/sprite.svg#gear"></use></svg>'
    )
