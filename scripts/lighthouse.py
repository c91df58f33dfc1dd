"""`make lighthouse`: Lighthouse (mobile) on the main pages of a running `make run`.

    python -m scripts.lighthouse [--base http://127.0.0.1:8000]

Installs Lighthouse from the npm registry into var/lighthouse (once), signs the demo director,
supervisor and county officer in through the sign-in form (the second factor from `manage.py
totp_code`, as the demo allows), and runs Lighthouse's mobile profile (simulated slow 4G, 4× CPU
slowdown) on each one's pages with Debian's Chromium. Prints one line per page with the
performance, accessibility and best-practice scores and the audits below 0.9; exits 1 when a page
scores under 100 for accessibility or under 90 for performance. A measurement, not a test: the
machine's load moves the performance score.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
LIGHTHOUSE_VERSION = "12.8.2"
TOOL_DIR = BASE_DIR / "var" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Shouwang@2026"  # the demo accounts' (demo/accounts.py)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Audits that only say "could be faster still" on a loopback server.
NOISE = {"bf-cache", "network-dependency-tree-insight", "render-blocking-insight"}


def lighthouse() -> Path:
    binary = TOOL_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        TOOL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(TOOL_DIR), "--no-audit", "--no-fund",
             f"lighthouse@{LIGHTHOUSE_VERSION}"],
            check=True,
        )  # fmt: skip
    return binary


class Browser:
    """A cookie jar that signs in through the form, as a person would."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=60) as response:
            return response.geturl(), response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        _url, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        data = urllib.parse.urlencode(
            {**fields, "csrfmiddlewaretoken": token.group(1) if token else ""}
        )
        request = urllib.request.Request(self.base + path, data=data.encode(), method="POST")
        with self.opener.open(request, timeout=60) as response:
            return response.geturl(), response.read().decode()

    def sign_in(self, username: str) -> str:
        url, _page = self.post("/accounts/login/", {"username": username, "password": PASSWORD})
        if "/accounts/two-factor/" in url:
            code = subprocess.run(
                [sys.executable, "manage.py", "totp_code", username],
                cwd=BASE_DIR, check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            url, _page = self.post("/accounts/two-factor/", {"token": code})
        if "/accounts/" in url:
            raise SystemExit(f"{username} could not sign in (ended on {url})")
        return next(c.value for c in self.jar if c.name == "sessionid")


def run(binary: Path, url: str, session: str) -> dict:
    command = [
        str(binary), url, "--only-categories=performance,accessibility,best-practices",
        "--form-factor=mobile", "--output=json", "--output-path=stdout", "--quiet",
        f"--extra-headers={json.dumps({'Cookie': f'sessionid={session}'})}",
        "--chrome-flags=--headless --no-sandbox --disable-gpu",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    return json.loads(result.stdout)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    base = parser.parse_args(argv).base.rstrip("/")
    binary = lighthouse()
    director = Browser(base)
    director_session = director.sign_in("zr_chaji")
    child = re.search(rf'href="/children/({UUID})/"', director.get("/children/")[1]).group(1)
    pages = {
        director_session: [
            "/visits/", "/children/", f"/children/{child}/", f"/visits/new/{child}/",
            f"/children/{child}/parent-contacts/new/", "/visits/offline/queue/",
        ],
        Browser(base).sign_in("dd_taohuatan"): ["/", "/visits/review/"],
        Browser(base).sign_in("mz_jingxian"): ["/", "/dashboard/"],
        "": ["/accounts/login/"],
    }  # fmt: skip
    failed = False
    for session, paths in pages.items():
        for path in paths:
            report = run(binary, base + path, session)
            if "/accounts/login/" in report["finalDisplayedUrl"] and path != "/accounts/login/":
                raise SystemExit(f"{path}: sent to the sign-in page")
            scores = {name: round(c["score"] * 100) for name, c in report["categories"].items()}
            low = [
                f"{key} {audit['score']}"
                for key, audit in report["audits"].items()
                if key not in NOISE
                and audit.get("score") is not None
                and audit["score"] < 0.9
                and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
            ]
            failed |= scores["accessibility"] < 100 or scores["performance"] < 90
            print(
                f"LIGHTHOUSE {path}: performance {scores['performance']}, accessibility "
                f"{scores['accessibility']}, best practices {scores['best-practices']}"
                + (f" (below 0.9: {', '.join(low)})" if low else ""),
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
