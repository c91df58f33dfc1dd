"""What the build scripts share: write a generated file, or check that the committed one is up to
date (``--check``), as `make css` and tests/config/test_css_bundle.py use them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def write_or_check(
    argv: list[str],
    *,
    description: str,
    output: Path,
    build: Callable[[], str],
    describe: Callable[[str], str],
) -> int:
    """Build ``output``; with ``--check`` only say (exit 1) whether the committed file differs.
    After writing, print the path and ``describe(text)``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = build()
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    path = output.relative_to(BASE_DIR)
    if args.check:
        if text != current:
            print(f"{path} is out of date: run `make css`", file=sys.stderr)
            return 1
        return 0
    if text != current:
        output.write_text(text, encoding="utf-8")
    print(f"{path}: {describe(text)}")
    return 0


def run(
    doc: str | None, *, output: Path, build: Callable[[], str], describe: Callable[[str], str]
) -> None:
    """A build script's ``__main__``: ``write_or_check`` on the command line's arguments, described
    by the first line of the script's ``doc``, exiting with its status."""
    description = (doc or "").splitlines()[0]
    sys.exit(
        write_or_check(
            sys.argv[1:], description=description, output=output, build=build, describe=describe
        )
    )
