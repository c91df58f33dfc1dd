#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, if missing: GNU gettext (translation checks),
# Pango (WeasyPrint PDFs), the Noto CJK fonts (Chinese in PDFs and screenshots) and Chromium
# (browser tests: Playwright drives /usr/bin/chromium, it cannot download its own browser here).
# Runs apt-get only as root; otherwise it says what to install and continues.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
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
if apt_refused system-deps "${needed[@]}"; then
  exit 0
fi
apt_install system-deps "${needed[@]}"
