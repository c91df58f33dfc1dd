"""Screenshots of pages at phone (390px) and desktop (1280px) width, for looking at what we build.

Usage: .venv/bin/python scripts/screenshots.py BASE_URL OUTDIR USERNAME:PASSWORD:PATH[,PATH…] …
Drives Debian's /usr/bin/chromium through Playwright (no browser download). A user asked for a
two-factor code after the password gets it from `manage.py totp_code USERNAME` (demo devices; the
demo app, so local settings, manage.py's default; run with the same DATABASE_URL as the server),
unless the paths are the two-factor pages themselves.
"""

from __future__ import annotations

import subprocess
import sys
import time
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
                    page.wait_for_load_state()
                    wants_two_factor_pages = paths.startswith("/accounts/two-factor")
                    if not wants_two_factor_pages:
                        verify(page, username)
                for path in paths.split(","):
                    page.goto(f"{base}{path}")
                    name = f"{username}_{path.strip('/').replace('/', '_') or 'home'}_{width}.png"
                    page.screenshot(path=str(out / name), full_page=True)
                    print(out / name)
                context.close()
        browser.close()


def verify(page, username: str) -> None:
    """Give the second factor if asked. A code is accepted once: a second sign-in within the
    same 30 seconds (the next width) waits for the next code."""
    for _attempt in range(2):
        if "/accounts/two-factor/" not in page.url or "/set-up/" in page.url:
            return
        page.fill("#id_token", totp_code(username))
        page.press("#id_token", "Enter")
        page.wait_for_load_state()
        if "/accounts/two-factor/" in page.url:
            time.sleep(31 - time.time() % 30)


def totp_code(username: str) -> str:
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage), "totp_code", username],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
