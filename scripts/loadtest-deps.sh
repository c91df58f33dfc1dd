#!/usr/bin/env bash
# Installs what `make loadtest` needs beyond the virtualenv, if missing: Debian's PostgreSQL server
# with its contrib modules (pg_stat_statements), for the private cluster under var/loadtest/pg.
# The embedded pgserver has no pg_stat_statements, hence a system PostgreSQL here.
# Runs apt-get only as root; otherwise it says what to install and fails (the load test cannot run).
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null \
  && compgen -G '/usr/share/postgresql/*/extension/pg_stat_statements.control' >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "loadtest-deps: please install: postgresql postgresql-contrib" >&2
  exit 1
fi
echo "loadtest-deps: installing postgresql postgresql-contrib"
export DEBIAN_FRONTEND=noninteractive
# The package's own cluster is not used: keep the Debian post-install from starting a server.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null
