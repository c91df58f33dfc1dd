"""Build static/icons/sprite.svg: one <symbol> for each Bootstrap icon the templates name.

Usage: .venv/bin/python -m scripts.build_icons [--check]   (`make css` runs it)

Templates draw icons with ``{% icon "bell" %}`` (core/templatetags/icons.py), which points an
<svg><use> at ``sprite.svg#bell``. This script collects those names from templates/ and the Python
sources and writes the sprite with exactly those icons, sorted. An icon already in the sprite is
copied from it; a new one is read from the bootstrap-icons npm package of the version in
static/icons/VERSION, fetched once with `npm pack` into var/cache/ (the only time this needs the
registry). --check writes nothing and exits 1 when the sprite is not what the sources need.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

from scripts.generated import run

BASE_DIR = Path(__file__).resolve().parent.parent
ICONS_DIR = BASE_DIR / "static" / "icons"
SPRITE = ICONS_DIR / "sprite.svg"
VERSION_FILE = ICONS_DIR / "VERSION"
CACHE = BASE_DIR / "var" / "cache"
# Where icons are named: the templates, and Python that renders HTML (format_html…).
SOURCE_GLOBS = ("templates/**/*.html", "*/templatetags/*.py", "*/views*.py", "*/forms*.py")
ICON_TAG = re.compile(r"""\{%\s*icon\s+["']([a-z0-9-]+)["']""")
SYMBOL = re.compile(r'<symbol id="([a-z0-9-]+)" viewBox="([^"]+)">(.*?)</symbol>', re.S)
SVG_FILE = re.compile(r"<svg\b[^>]*\bviewBox=\"([^\"]+)\"[^>]*>(.*)</svg>", re.S)
HEADER = (
    "<!-- Bootstrap Icons {version} (MIT licence, static/icons/LICENSE): only the icons the "
    "templates use. Built by scripts/build_icons.py; do not edit. -->"
)


def used_icons(base: Path = BASE_DIR) -> set[str]:
    """Every icon name the sources give to {% icon %}."""
    names: set[str] = set()
    for pattern in SOURCE_GLOBS:
        for path in base.glob(pattern):
            if ".venv" in path.parts:
                continue
            names.update(ICON_TAG.findall(path.read_text(encoding="utf-8")))
    return names


def version() -> str:
    """The bootstrap-icons version the sprite is drawn from (first line of VERSION)."""
    match = re.match(r"bootstrap-icons (\S+)", VERSION_FILE.read_text(encoding="utf-8"))
    if not match:
        raise SystemExit(f"{VERSION_FILE} does not start with 'bootstrap-icons <version>'")
    return match.group(1)


def sprite_symbols(text: str) -> dict[str, tuple[str, str]]:
    """name → (viewBox, inner markup) of the symbols in a sprite."""
    return {name: (box, body) for name, box, body in SYMBOL.findall(text)}


def package_icon(name: str, icons_version: str) -> tuple[str, str]:
    """(viewBox, inner markup) of one icon of the npm package, fetched once into var/cache/."""
    root = CACHE / f"bootstrap-icons-{icons_version}"
    if not root.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"bootstrap-icons@{icons_version}", "--pack-destination", str(CACHE)],
            check=True,
            cwd=CACHE,
        )
        archive = CACHE / f"bootstrap-icons-{icons_version}.tgz"
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        archive.unlink()
    path = root / "package" / "icons" / f"{name}.svg"
    if not path.exists():
        raise SystemExit(f"bootstrap-icons {icons_version} has no icon named {name!r}")
    match = SVG_FILE.search(path.read_text(encoding="utf-8"))
    if not match:
        raise SystemExit(f"cannot read {path}")
    return match.group(1), match.group(2)


def render(symbols: dict[str, tuple[str, str]], icons_version: str) -> str:
    lines = [
        '<svg xmlns="http://www.w3.org/2000/svg">',
        HEADER.format(version=icons_version),
    ]
    for name in sorted(symbols):
        box, body = symbols[name]
        body = re.sub(r">\s+<", "><", body.strip())
        lines.append(f'<symbol id="{name}" viewBox="{box}">{body}</symbol>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def build() -> str:
    """The sprite the sources need, as text."""
    icons_version = version()
    have = sprite_symbols(SPRITE.read_text(encoding="utf-8")) if SPRITE.exists() else {}
    symbols = {
        name: have[name] if name in have else package_icon(name, icons_version)
        for name in used_icons()
    }
    return render(symbols, icons_version)


if __name__ == "__main__":
    run(
        __doc__,
        output=SPRITE,
        build=build,
        describe=lambda text: f"{len(sprite_symbols(text))} icons, {len(text)} bytes",
    )
