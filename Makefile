# Shouwang — `make run` to try it, `make test` to prove it. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Starts the embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset, runs the command with
# them exported, and stops what it started when the command ends (Ctrl-C included).
WITH_SERVICES := $(BIN)/python config/embedded.py run --

.PHONY: install run test bench lint format messages stop clean-data

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,embedded]'
	@touch $@

run: install
	$(WITH_SERVICES) sh -c '\
	  $(BIN)/python manage.py migrate --noinput && \
	  $(BIN)/python manage.py seed_demo && \
	  exec $(BIN)/honcho -f Procfile.dev start'

test: install
	@scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(WITH_SERVICES) sh -c '\
	  DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run && \
	  $(BIN)/pytest'

# Benchmarks on a fresh test database; each prints a line starting with BENCH.
bench: install
	TEST_DATABASE_NAME=test_shouwang_bench $(WITH_SERVICES) $(BIN)/pytest -p no:cacheprovider -s -q benchmarks

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-location --ignore='.venv/*' --ignore='var/*' --ignore='tests/*'
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore='.venv/*'

stop:
	$(BIN)/python config/embedded.py stop

clean-data: stop
	rm -rf var/postgres var/redis
