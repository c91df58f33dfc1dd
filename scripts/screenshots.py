"""Screenshots of pages at phone (390px) and desktop (1280px) width, for looking at what we build.

Usage: .venv/bin/python scripts/screenshots.py BASE_URL OUTDIR USERNAME:PASSWORD:PATH[,PATH…] …
Drives Debian's /usr/bin/chromium through Playwright (no browser download).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(base: str, outdir: str, specs: list[str]) -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for spec in specs:
            username, password, paths = spec.split(":", 2)
            for width, height in ((390, 844), (1280, 800)):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                if username != "-":
                    page.goto(f"{base}/accounts/login/")
                    page.fill("#id_username", username)
                    page.fill("#id_password", password)
                    page.click("button[type=submit]")
                for path in paths.split(","):
                    page.goto(f"{base}{path}")
                    name = f"{username}_{path.strip('/').replace('/', '_') or 'home'}_{width}.png"
                    page.screenshot(path=str(out / name), full_page=True)
                    print(out / name)
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
