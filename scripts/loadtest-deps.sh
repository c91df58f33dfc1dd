#!/usr/bin/env bash
# Installs what `make loadtest` needs beyond the virtualenv, if missing: Debian's PostgreSQL server
# with its contrib modules (pg_stat_statements), for the private cluster under var/loadtest/pg.
# The embedded pgserver has no pg_stat_statements, hence a system PostgreSQL here.
# Runs apt-get only as root; otherwise it says what to install and fails (the load test cannot run).
set -euo pipefail
. "$(dirname "$0")/apt.sh"
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null \
  && compgen -G '/usr/share/postgresql/*/extension/pg_stat_statements.control' >/dev/null; then
  exit 0
fi
if apt_refused loadtest-deps postgresql postgresql-contrib; then
  exit 1
fi
# The package's own cluster is not used: keep the Debian post-install from starting a server.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
apt_install loadtest-deps postgresql postgresql-contrib
