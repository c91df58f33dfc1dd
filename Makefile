# Shouwang — `make run` to try it, `make test` to prove it. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Starts the embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset, runs the command with
# them exported, and stops what it started when the command ends (Ctrl-C included).
WITH_SERVICES := $(BIN)/python config/embedded.py run --
# `make test` runs the suite on this many pytest-xdist workers (auto: one per core), each with its
# own test database; tests that must share one process carry @pytest.mark.xdist_group.
TEST_WORKERS ?= auto
# The load test as `make test` runs it: 2,000 children, 5 directors for 10 s with another process
# busy on a quarter of a core, then the capacity mode with steps of 2 and 4 users for 4 s each;
# its own var dir.
LOADTEST_SMOKE := --smoke --children 2000 --users 5 --spawn-rate 5 --duration 10 --bare-duration 5 --workers 2 --var-dir var/loadtest-smoke --busy-cores 0.25
LOADTEST_SMOKE_CAPACITY := --smoke --children 2000 --users 5 --spawn-rate 5 --workers 2 --var-dir var/loadtest-smoke --capacity --capacity-steps 2,4 --step-duration 4 --settle 1
# The load test as `make bench` runs it: the timed run with another process busy on half a core,
# then the capacity mode (a run of its own, without the competing process).
LOADTEST_BENCH := --busy-cores 0.5
LOADTEST_BENCH_CAPACITY := --capacity

.PHONY: install run css test bench loadtest lighthouse drills lint format messages stop clean-data backup restore

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,embedded]'
	@touch $@

# Static files as production serves them (config/settings/local.py): collected into var/staticfiles
# under hashed names with gzip and Brotli copies, which WhiteNoise serves with a year-long cache.
run: install
	DJANGO_SETTINGS_MODULE=config.settings.local $(BIN)/python manage.py collectstatic --noinput --clear -v 0
	$(WITH_SERVICES) sh -c '\
	  $(BIN)/python manage.py migrate --noinput && \
	  $(BIN)/python manage.py seed_demo && \
	  exec $(BIN)/honcho -f Procfile.dev start'

# The one stylesheet the pages link, static/css/site.css: Bootstrap and static/css/app.css cut down
# to the rules the templates, the Python that writes HTML and static/js use; and the icon sprite
# static/icons/sprite.svg with the icons the templates name ({% icon "…" %}). Both files are
# committed; run this after changing classes or icons in a template (tests/config/test_css_bundle.py
# fails until you do).
css: install
	$(BIN)/python -m scripts.build_icons
	$(BIN)/python -m scripts.build_css

test: install
	@scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(WITH_SERVICES) sh -c '\
	  DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run && \
	  $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup && \
	  TEST_DATABASE_NAME=test_shouwang_bench_smoke $(BIN)/pytest -p no:cacheprovider -s -q benchmarks'
	$(MAKE) --no-print-directory loadtest LOADTEST_ARGS="$(LOADTEST_SMOKE)"
	$(MAKE) --no-print-directory loadtest LOADTEST_ARGS="$(LOADTEST_SMOKE_CAPACITY)"

# Benchmarks on a fresh test database at province scale; each prints a line starting with BENCH.
# `make test` runs the same benchmarks, and the load test, at a tiny scale (their defaults,
# LOADTEST_SMOKE and LOADTEST_SMOKE_CAPACITY), so that a benchmark that breaks fails CI; there
# timings are printed, not judged.
bench: install
	BENCH_CHILDREN=1000000 BENCH_IMPORT_ROWS=10000 BENCH_AREAS=664000 BENCH_AUDIT=50000000 TEST_DATABASE_NAME=test_shouwang_bench $(WITH_SERVICES) $(BIN)/pytest -p no:cacheprovider -s -q --timeout=0 benchmarks
	@status=0; \
	$(MAKE) --no-print-directory loadtest LOADTEST_ARGS="$(LOADTEST_BENCH)" || status=1; \
	$(MAKE) --no-print-directory loadtest LOADTEST_ARGS="$(LOADTEST_BENCH_CAPACITY)" || status=1; \
	exit $$status

# Load test: 50 directors (locust, headless) against gunicorn on loopback for 60 s, 100,000 children,
# with a private PostgreSQL (pg_stat_statements) and Redis under var/loadtest, stopped at the end.
# Fails unless: no errors, p95 ≤ 200 ms, no SQL statement over 100 ms. LOADTEST_ARGS="--help" lists
# the knobs (users, duration, workers…). Prints a line starting with BENCH loadtest.
# LOADTEST_ARGS="--busy-cores 0.5": another process busy on half a core meanwhile (as `make bench`).
# LOADTEST_ARGS="--capacity": steps of users without think time instead of the windows; prints
# the highest rate at p95 ≤ 200 ms (BENCH loadtest capacity); fails on an error or under 100/s.
loadtest: install
	@scripts/loadtest-deps.sh
	$(BIN)/python -m benchmarks.loadtest.run $(LOADTEST_ARGS)

# Lighthouse (mobile) on the main pages of a running `make run` (scripts/lighthouse.py): installs
# Lighthouse from npm into var/lighthouse once, signs the demo users in, prints the scores; fails
# under 100 for accessibility or 90 for performance. LIGHTHOUSE_ARGS="--base URL" for another server.
lighthouse: install
	DJANGO_SETTINGS_MODULE=config.settings.local $(WITH_SERVICES) $(BIN)/python -m scripts.lighthouse $(LIGHTHOUSE_ARGS)

# Property tests and the API fuzzer with many more examples (HYPOTHESIS_PROFILE=drills); -rA lists
# every property and every API operation checked. Own test database, so it runs beside `make test`.
# Then the fault drills (tests/drills, marked `drill`, left out of `make test`): real gunicorn,
# Celery worker and beat against a PRIVATE PostgreSQL and Redis under var/drills/run-<pid> (never
# var/postgres or var/redis), stopped and deleted at the end; each prints a line starting with DRILL.
# DRILLS_KEEP=1 keeps var/drills/run-<pid> (data and every process's log) for a post-mortem.
# The replica drill runs a primary and a streaming replica of Debian's PostgreSQL (pg_basebackup).
drills: install
	HYPOTHESIS_PROFILE=drills TEST_DATABASE_NAME=test_shouwang_drills $(WITH_SERVICES) $(BIN)/pytest -q -rA -p no:cacheprovider --timeout=0 tests/property tests/fuzz
	@scripts/loadtest-deps.sh  # Debian's PostgreSQL: the replica drill's primary and standby
	TEST_DATABASE_NAME=test_shouwang_drills $(WITH_SERVICES) $(BIN)/pytest -q -s -rA -p no:cacheprovider --timeout=0 -m drill tests/drills

# Static checks and the dependency audit. scripts/audit-deps.sh needs PyPI's JSON API (or OSV): where
# it cannot be reached it prints "pip-audit: NOT RUN" and fails, so `make lint` never passes silently.
# `make test` leaves the audit out: a new advisory must not turn an unchanged commit red.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r accounts children visits reporting dashboards config demo -c pyproject.toml
	scripts/audit-deps.sh

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-location --ignore='.venv/*' --ignore='var/*' --ignore='tests/*'
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore='.venv/*'

# Database (pg_dump -Fc) + uploaded files + manifest.json of row counts into var/backups/shouwang-…/.
backup: install
	$(WITH_SERVICES) $(BIN)/python scripts/backup.py

# make restore BACKUP=var/backups/shouwang-… [RESTORE_ARGS="--database NAME" | RESTORE_ARGS=--yes]
restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/shouwang-… [RESTORE_ARGS=…]"; exit 2; }
	$(WITH_SERVICES) $(BIN)/python scripts/restore.py $(BACKUP) $(RESTORE_ARGS)

stop:
	$(BIN)/python config/embedded.py stop

clean-data: stop
	rm -rf var/postgres var/redis var/drills var/loadtest
