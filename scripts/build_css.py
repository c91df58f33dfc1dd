"""Build static/css/site.css: Bootstrap + app.css, only the rules the pages can use, minified.

Usage: .venv/bin/python -m scripts.build_css [--check]   (`make css` runs it, with build_icons.py)

Every page links this one stylesheet (templates/base.html). Bootstrap's 233 KB are mostly rules for
components the templates never render; a phone on a village connection should not download them.
The script collects the class names, ids, element names and data- attributes the HTML can carry:

- templates/**/*.html: class="…" and id="…" values, tag names, data- attributes, and every quoted
  literal inside {% … %} / {{ … }} (include-with arguments, default: values, crispy_field classes);
- the crispy-bootstrap5 templates the project renders (uni_form.html for |crispy, field.html for
  |as_crispy_field, errors.html, and what they include);
- Python that puts classes into HTML: "class" keys of widget attrs, *class= keyword arguments,
  class="…" inside string literals (format_html…), tag names in those strings;
- static/js/*.js: every word inside a string literal (classList.add("show"), HTML built in JS);
- DYNAMIC: classes that templates build from values (text-bg-{{ tone }}…), with the values the
  code can give.

It keeps a rule when one of its selectors needs only names from that list (what is inside :not(),
:is(), :where() or :has() does not count), @media/@supports blocks with their kept rules,
@keyframes and @font-face that kept declarations name, and custom properties that kept
declarations read (directly or through other custom properties). --check writes nothing and exits
1 when site.css is not what the sources give (tests/config/test_css_bundle.py runs the same build).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tinycss2
from tinycss2 import ast as css

from config.settings.base import INSTALLED_APPS
from scripts.generated import run

BASE_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP = BASE_DIR / "static" / "vendor" / "bootstrap" / "bootstrap.min.css"
APP = BASE_DIR / "static" / "css" / "app.css"
OUTPUT = BASE_DIR / "static" / "css" / "site.css"
TEMPLATES = BASE_DIR / "templates"
JS = BASE_DIR / "static" / "js"
# Python packages of the project whose strings may put classes into HTML: its apps (those of
# INSTALLED_APPS that are folders here) and config.
PYTHON_PACKAGES = (
    *(app for app in INSTALLED_APPS if (BASE_DIR / app / "apps.py").is_file()),
    "config",
)
# The crispy-bootstrap5 templates the project renders: |crispy → uni_form.html (errors.html and
# field.html for each field), |as_crispy_field → field.html; what they include is followed.
CRISPY_ROOTS = ("bootstrap5/uni_form.html", "bootstrap5/field.html", "bootstrap5/errors.html")

THEME = ("primary", "secondary", "success", "danger", "warning", "info", "light", "dark")
# Classes that templates assemble from a value: the prefix before {{ … }} / {% … %} → every value
# the code can give there (tones in */panels.py and the dashboards are theme colours, risk_class
# gives success/warning/danger, Django's message tags are debug/info/success/warning/error).
DYNAMIC_PREFIXES: dict[str, tuple[str, ...]] = {
    "text-bg-": THEME,
    "text-": THEME,
    "bg-": THEME,
    "border-": THEME,
    "btn-": tuple(f"outline-{t}" for t in THEME) + THEME,
    "alert-": ("debug", "info", "success", "warning", "danger", "error"),
}
# A whole class="{{ value }}": the expression → the classes it can be.
DYNAMIC_WHOLE: dict[str, tuple[str, ...]] = {
    "s.risk": ("high", "medium", "low", "cat"),  # dashboards/dashboard.html, the risk bars
    # partials/_form_card.html: its default, and what includes pass (children/child_close.html).
    "button_class": ("btn-primary", "btn-danger"),
    # crispy-bootstrap5's field templates: set only by FormHelper / Layout objects (the project
    # has none) or by a form's required_css_class / error_css_class (none either).
    "wrapper_class": (),
    "field.css_classes": (),
    "label_class": (),
    "field_class": (),
    # format_html('… class="… {}"', extra_class) in template tags: the classes are the quoted
    # arguments templates give the tag, which are collected with every other quoted argument.
    "python": (),
    "offset": (),  # bootstrap_checkbox_offsets: form-horizontal layouts only
    "widget.data.attrs.class": (),
}
# Elements Django's form widgets render, and the document's own.
WIDGET_ELEMENTS = {"html", "body", "input", "select", "option", "optgroup", "textarea", "label",
                   "ul", "li", "div", "span", "fieldset", "legend", "a", "button", "p"}  # fmt: skip

TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
HOLE = "\x00"  # where a {% tag %} was
VALUE = "\x01"  # around the number of a {{ value }}
CLASS_ATTR = re.compile(r"""\bclass\s*=\s*(["'])(.*?)\1""", re.S)
ID_ATTR = re.compile(r"""\bid\s*=\s*(["'])(.*?)\1""", re.S)
ELEMENT = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
DATA_ATTR = re.compile(r"\b(data-[a-z0-9-]+)")
QUOTED = re.compile(r"""(["'])(.*?)\1""", re.S)
JS_STRING = re.compile(r"""(["'`])((?:\\.|(?!\1).)*)\1""", re.S)
# /* … */ and // … comments (a // after a space or at a line's start: not "https://" in a string).
JS_COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.S | re.M)
WORD = re.compile(r"-?[A-Za-z_][\w-]*")
# Template tags whose quoted arguments are text, URLs or names, never classes.
TAGS_WITHOUT_CLASSES = {"translate", "trans", "blocktranslate", "blocktrans", "url", "load",
                        "extends", "block", "static", "now", "csrf_token", "comment"}  # fmt: skip
INCLUDE = re.compile(r"""\{%\s*include\s+["']([^"']+)["']""")


@dataclass
class Used:
    """Names the pages can carry. ``dynamic`` maps each class="…{{ x }}…" fragment to its file."""

    classes: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=lambda: set(WIDGET_ELEMENTS))
    data_attrs: set[str] = field(default_factory=set)
    dynamic: dict[str, str] = field(default_factory=dict)
    # Only what class="…" attributes name outright: what tests/config/test_css_bundle.py checks.
    attribute_classes: set[str] = field(default_factory=set)

    def add_html(self, text: str, origin: str) -> None:
        """Names in a template or an HTML string."""
        for literal in TAG.findall(text):
            words = literal[2:].split(None, 1)
            if not words or words[0] in TAGS_WITHOUT_CLASSES:
                continue
            if words[0] == "include":
                literal = literal.partition(" with ")[2]
            for _, value in QUOTED.findall(literal):
                self.classes.update(WORD.findall(value))
        expressions: list[str] = []

        def hole(match: re.Match[str]) -> str:
            if not match.group(0).startswith("{{"):
                return HOLE
            expressions.append(re.sub(r"^\{\{\s*([\w.]*).*", r"\1", match.group(0), flags=re.S))
            return f"{VALUE}{len(expressions) - 1}{VALUE}"

        holed = TAG.sub(hole, text)
        for match in CLASS_ATTR.finditer(holed):
            for token in match.group(2).split():
                self._add_class_token(token, expressions, origin)
        for match in ID_ATTR.finditer(holed):
            self.ids.update(re.split(rf"{HOLE}|{VALUE}\d+{VALUE}", match.group(2)))
        self.ids.discard("")
        self.elements.update(name.lower() for name in ELEMENT.findall(text))
        self.data_attrs.update(DATA_ATTR.findall(text))

    def _add_class_token(self, token: str, expressions: list[str], origin: str) -> None:
        """One class="…" token: a class, or (around a template tag) a dynamic one."""
        pieces = [p for p in re.split(rf"({HOLE}|{VALUE}\d+{VALUE})", token) if p]
        prefix = ""  # alert-{% if … %}danger{% else %}…: "danger" finishes "alert-"
        for index, piece in enumerate(pieces):
            following = pieces[index + 1] if index + 1 < len(pieces) else ""
            if piece.startswith(VALUE):
                if index == 0 or (pieces[index - 1] == HOLE and not prefix):
                    # class="{{ expression }}": the whole class comes from a value.
                    self.dynamic.setdefault("{{ " + expressions[int(piece[1:-1])] + " }}", origin)
            elif piece != HOLE:
                if following and piece.endswith("-") and not prefix:
                    prefix = piece
                    self.dynamic.setdefault(piece, origin)  # text-bg-{{ tone }}
                else:
                    self.classes.add(prefix + piece)
                    self.attribute_classes.add(prefix + piece)

    def expand_dynamic(self) -> None:
        for fragment in self.dynamic:
            if fragment.startswith("{{"):
                self.classes.update(DYNAMIC_WHOLE.get(fragment[3:-3], ()))
            else:
                self.classes.update(
                    fragment + value for value in DYNAMIC_PREFIXES.get(fragment, ())
                )


def crispy_templates() -> Iterator[Path]:
    """The crispy-bootstrap5 templates |crispy and |as_crispy_field render, includes followed."""
    import crispy_bootstrap5

    root = Path(crispy_bootstrap5.__file__).parent / "templates"
    seen: set[str] = set()
    todo = list(CRISPY_ROOTS)
    while todo:
        name = todo.pop()
        if name in seen or not (root / name).exists():
            continue
        seen.add(name)
        yield root / name
        todo.extend(INCLUDE.findall((root / name).read_text(encoding="utf-8")))


def python_names(used: Used, source: str, origin: str) -> None:
    """Classes that Python puts into HTML: attrs={"class": …}, css_class=…, class="…" in strings."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _is_str(key) and key.value == "class" and _is_str(value):
                    used.classes.update(value.value.split())
        elif isinstance(node, ast.keyword) and node.arg and node.arg.endswith("class"):
            if _is_str(node.value):
                used.classes.update(node.value.value.split())
        elif _is_str(node) and "<" in node.value:
            # format_html's {} and %s are values, as {{ … }} in a template.
            html = re.sub(r"\{[\w.]*\}|%(?:\(\w+\))?s", "{{ python }}", node.value)
            used.add_html(html, origin)


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def used_names(base: Path = BASE_DIR) -> Used:
    """Everything the pages can carry, from the sources listed in this module's docstring."""
    used = Used()
    for path in sorted((base / "templates").rglob("*.html")):
        used.add_html(path.read_text(encoding="utf-8"), str(path.relative_to(base)))
    for path in crispy_templates():
        used.add_html(path.read_text(encoding="utf-8"), f"crispy_bootstrap5/{path.name}")
    for package in PYTHON_PACKAGES:
        for path in sorted((base / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            python_names(used, path.read_text(encoding="utf-8"), str(path.relative_to(base)))
    for path in sorted((base / "static" / "js").glob("*.js")):
        code = JS_COMMENT.sub(" ", path.read_text(encoding="utf-8"))
        for _, literal in JS_STRING.findall(code):
            used.classes.update(WORD.findall(literal))
            used.add_html(literal, str(path.relative_to(base)))
    used.expand_dynamic()
    return used


# --- Selectors ------------------------------------------------------------------------------


@dataclass
class Needs:
    """What one selector needs from the page to match anything."""

    classes: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=set)
    data_attrs: set[str] = field(default_factory=set)

    def met_by(self, used: Used) -> bool:
        return (
            self.classes <= used.classes
            and self.ids <= used.ids
            and self.elements <= used.elements
            and self.data_attrs <= used.data_attrs
        )


def split_selectors(prelude: list[css.Node]) -> list[list[css.Node]]:
    selectors: list[list[css.Node]] = [[]]
    for token in prelude:
        if isinstance(token, css.LiteralToken) and token.value == ",":
            selectors.append([])
        else:
            selectors[-1].append(token)
    return [s for s in selectors if any(not _blank(t) for t in s)]


def _is_literal(token: css.Node | None, value: str) -> bool:
    return isinstance(token, css.LiteralToken) and token.value == value


def _blank(token: css.Node) -> bool:
    return isinstance(token, css.WhitespaceToken | css.Comment)


def selector_needs(tokens: list[css.Node]) -> Needs:
    needs = Needs()
    previous: css.Node | None = None
    compound_start = True
    for token in tokens:
        if isinstance(token, css.IdentToken):
            if isinstance(previous, css.LiteralToken) and previous.value == ".":
                needs.classes.add(token.value)
            elif isinstance(previous, css.LiteralToken) and previous.value == ":":
                pass  # a pseudo-class or pseudo-element
            elif compound_start:
                needs.elements.add(token.value.lower())
        elif isinstance(token, css.HashToken):
            needs.ids.add(token.value)
        elif isinstance(token, css.SquareBracketsBlock):
            names = [t.value for t in token.content if isinstance(t, css.IdentToken)]
            if names and names[0].startswith("data-"):
                needs.data_attrs.add(names[0])
        # FunctionBlock (:not(…), :is(…), :nth-child(…)): what is inside never makes a rule useless.
        compound_start = _blank(token) or (
            isinstance(token, css.LiteralToken) and token.value in {">", "+", "~"}
        )
        previous = token
    return needs


def selector_names(prelude: list[css.Node]) -> set[str]:
    """Every class a prelude mentions, inside :not() and the like too (for the tests)."""
    names: set[str] = set()
    previous: css.Node | None = None
    for token in prelude:
        if isinstance(token, css.FunctionBlock):
            names |= selector_names(token.arguments)
        elif isinstance(token, css.IdentToken) and _is_literal(previous, "."):
            names.add(token.value)
        previous = token
    return names


# --- Serialising ----------------------------------------------------------------------------


def _text(tokens: Iterable[css.Node]) -> str:
    out = tinycss2.serialize([t for t in tokens if not isinstance(t, css.Comment)])
    return re.sub(r"\s+", " ", out).strip()


def selector_text(tokens: list[css.Node]) -> str:
    return re.sub(r"\s*([>+~])\s*", r"\1", _text(tokens))


def ascii_only(text: str) -> str:
    """Non-ASCII characters (inside content: strings) as CSS escapes."""
    return "".join(c if ord(c) < 128 else f"\\{ord(c):X} " for c in text)


# --- The build -------------------------------------------------------------------------------

VAR_REF = re.compile(r"var\(\s*(--[\w-]+)")


@dataclass
class Declaration:
    name: str
    value: str
    important: bool

    def __str__(self) -> str:
        return f"{self.name}:{self.value}{'!important' if self.important else ''}"


@dataclass
class Rule:
    selectors: str
    declarations: list[Declaration]

    def __str__(self) -> str:
        return f"{self.selectors}{{{';'.join(map(str, self.declarations))}}}"


@dataclass
class Block:
    """@media / @supports: rules inside a condition."""

    keyword: str
    prelude: str
    children: list[Item]

    def __str__(self) -> str:
        return f"@{self.keyword} {self.prelude}{{{''.join(map(str, self.children))}}}"


@dataclass
class Named:
    """@keyframes / @font-face / @page and any other at-rule, copied whole."""

    keyword: str
    prelude: str
    body: str  # minified, without the braces; "" for a statement at-rule

    def __str__(self) -> str:
        head = f"@{self.keyword} {self.prelude}".rstrip()
        return f"{head}{{{self.body}}}" if self.body else f"{head};"


Item = Rule | Block | Named


def _declarations(content: list[css.Node]) -> list[Declaration]:
    return [
        Declaration(
            item.name if item.name.startswith("--") else item.lower_name,
            _text(item.value),
            item.important,
        )
        for item in tinycss2.parse_blocks_contents(
            content, skip_whitespace=True, skip_comments=True
        )
        if isinstance(item, css.Declaration)
    ]


def _body(content: list[css.Node] | None) -> str:
    """An at-rule's block: declarations (@font-face, @page) or rules (@keyframes), minified."""
    if content is None:
        return ""
    rules = [
        r for r in tinycss2.parse_rule_list(content, skip_whitespace=True, skip_comments=True)
        if isinstance(r, css.QualifiedRule)
    ]  # fmt: skip
    if rules:
        return "".join(str(Rule(selector_text(r.prelude), _declarations(r.content))) for r in rules)
    return ";".join(map(str, _declarations(content)))


def _filter(nodes: list[css.Node], used: Used) -> list[Item]:
    """The rules with a selector the pages can match, each cut down to those selectors."""
    kept: list[Item] = []
    for node in nodes:
        if isinstance(node, css.QualifiedRule):
            selectors = [
                selector_text(s) for s in split_selectors(node.prelude)
                if selector_needs(s).met_by(used)
            ]  # fmt: skip
            if selectors:
                kept.append(Rule(",".join(selectors), _declarations(node.content)))
        elif isinstance(node, css.AtRule) and node.lower_at_keyword != "charset":
            keyword, prelude = node.lower_at_keyword, _text(node.prelude)
            if keyword in {"media", "supports", "container", "layer"} and node.content:
                children = _filter(tinycss2.parse_rule_list(node.content, True, True), used)
                kept.append(Block(keyword, prelude, children))
            else:
                kept.append(Named(keyword, prelude, _body(node.content)))
    return kept


def _rules(items: list[Item]) -> Iterator[Rule]:
    for item in items:
        if isinstance(item, Rule):
            yield item
        elif isinstance(item, Block):
            yield from _rules(item.children)


def _prune_properties(items: list[Item]) -> None:
    """Drop the custom properties (--bs-…) that nothing kept reads, directly or through others."""
    defined: dict[str, list[str]] = {}
    read: set[str] = set()
    for rule in _rules(items):
        for d in rule.declarations:
            if d.name.startswith("--"):
                defined.setdefault(d.name, []).append(d.value)
            else:
                read.update(VAR_REF.findall(d.value))
    for item in items:
        if isinstance(item, Named):
            read.update(VAR_REF.findall(item.body))
    todo = list(read)
    while todo:
        for value in defined.get(todo.pop(), []):
            for name in set(VAR_REF.findall(value)) - read:
                read.add(name)
                todo.append(name)
    for rule in _rules(items):
        rule.declarations = [
            d for d in rule.declarations if not d.name.startswith("--") or d.name in read
        ]


def _prune_empty_and_unnamed(items: list[Item], names: set[str]) -> list[Item]:
    """Without empty rules and blocks, and @keyframes / @font-face no declaration names."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, Rule) and not item.declarations:
            continue
        if isinstance(item, Block):
            item = Block(item.keyword, item.prelude, _prune_empty_and_unnamed(item.children, names))
            if not item.children:
                continue
        if isinstance(item, Named):
            if item.keyword.endswith("keyframes") and item.prelude not in names:
                continue
            family = re.search(r"font-family:[\"']?([^;\"']+)", item.body)
            if item.keyword == "font-face" and not (family and family.group(1).strip() in names):
                continue
        out.append(item)
    return out


def _animation_and_font_names(items: list[Item]) -> set[str]:
    values = " ".join(
        d.value for r in _rules(items) for d in r.declarations
        if d.name.startswith(("animation", "font", "--"))
    )  # fmt: skip
    return set(WORD.findall(values)) | set(re.findall(r"[\"']([^\"']+)[\"']", values))


def banner(source: str) -> str:
    """Bootstrap's /*! licence comment */, which the MIT licence asks to keep."""
    match = re.search(r"/\*!.*?\*/", source[:2000], re.S)
    return match.group(0) if match else ""


def build(used: Used | None = None) -> str:
    """site.css as text."""
    used = used or used_names()
    bootstrap = BOOTSTRAP.read_text(encoding="utf-8")
    source = bootstrap + "\n" + APP.read_text(encoding="utf-8")
    items = _filter(
        tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True), used
    )
    _prune_properties(items)
    items = _prune_empty_and_unnamed(items, _animation_and_font_names(items))
    header = (
        "/* site.css, built by scripts/build_css.py (`make css`) from Bootstrap and "
        "static/css/app.css: only the rules the templates use. Do not edit. */"
    )
    return ascii_only(f"{banner(bootstrap)}\n{header}\n{''.join(map(str, items))}\n")


if __name__ == "__main__":
    run(__doc__, output=OUTPUT, build=build, describe=lambda text: f"{len(text)} bytes")
