#!/usr/bin/env bash
# Audits the installed environment (.venv) for known vulnerabilities with pip-audit --strict.
# Exit 0: every dependency was checked and none is vulnerable. Exit 1: vulnerable (or unauditable)
# dependencies. Exit 2: the audit could not run because the vulnerability service is unreachable —
# reported loudly, never a silent pass. AUDIT_SERVICE=osv switches from PyPI's JSON API to OSV.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
SERVICE=${AUDIT_SERVICE:-pypi}
case "$SERVICE" in
  # The per-version JSON document, as pip-audit asks for it (some mirrors serve only the index).
  pypi) probe_url="https://pypi.org/pypi/pip/$("$BIN/python" -m pip --version | cut -d' ' -f2)/json" ;;
  osv) probe_url="https://api.osv.dev/v1/query" ;;
  *) echo "audit-deps: AUDIT_SERVICE must be pypi or osv, not '$SERVICE'" >&2; exit 2 ;;
esac

# pip-audit reports an unreachable service (or a mirror without PyPI's JSON API) as packages
# "not found on PyPI"; probing first tells that apart from a real finding.
if ! "$BIN/python" - "$SERVICE" "$probe_url" <<'PY'
import json
import sys
import urllib.request

service, url = sys.argv[1], sys.argv[2]
data = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}}).encode() if service == "osv" else None
try:
    with urllib.request.urlopen(url, data=data, timeout=15) as answer:  # noqa: S310
        sys.exit(0 if answer.status == 200 else 1)
except Exception as error:  # any failure means: cannot audit
    print(f"audit-deps: {url}: {error}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "pip-audit: NOT RUN (vulnerability service unreachable: $probe_url)" >&2
  exit 2
fi

# --skip-editable: the project itself (installed with -e) is not a PyPI package.
"$BIN/pip-audit" --strict --skip-editable --progress-spinner off --vulnerability-service "$SERVICE"
status=$?
if [ "$status" -ne 0 ]; then
  echo "pip-audit: FAILED (exit $status): vulnerable or unauditable dependencies above" >&2
  exit 1
fi
echo "pip-audit: OK (no known vulnerabilities in the installed environment)"
