#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, if missing: GNU gettext (translation checks),
# Pango (WeasyPrint PDFs), the Noto CJK fonts (Chinese in PDFs and screenshots) and Chromium
# (browser tests: Playwright drives /usr/bin/chromium, it cannot download its own browser here).
# Runs apt-get only as root; otherwise it says what to install and continues.
set -euo pipefail
needed=()
command -v xgettext >/dev/null 2>&1 || needed+=(gettext)
# By path, as tests/browser/conftest.py launches it: a chromium elsewhere would not be used.
[ -x /usr/bin/chromium ] || needed+=(chromium)
for package in libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk; do
  dpkg -s "$package" >/dev/null 2>&1 || needed+=("$package")
done
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: please install: ${needed[*]}" >&2
  exit 0
fi
echo "system-deps: installing ${needed[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
