# Herald: `make run` starts everything on an embedded default; `make test` runs every test.
# Both create .venv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint lock bench bench-quick chaos install install-dev browser clean i18n screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Dependencies from the lock files, every file checked against its hash; then Herald itself.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) --require-hashes -r requirements.lock
	$(PIP) --no-deps --config-settings editable_mode=compat -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --no-deps --config-settings editable_mode=compat -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/herald up

# The browser tests need Debian's Chromium, and the screenshots a CJK font for Hangul (Debian's
# fonts-noto-cjk); install what is missing when we can (root with apt), else the browser tests
# skip and say why (and Hangul shows as boxes in the screenshots).
browser:
	@missing=""; [ -x $(CHROMIUM) ] || missing="chromium"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || ! command -v dpkg >/dev/null || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's$$missing for the browser tests"; \
	    (apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1)) \
	      || echo "$$missing could not be installed: browser tests will be skipped (or Hangul drawn as boxes)"; \
	  else echo "missing$$missing: browser tests will be skipped (or Hangul drawn as boxes)"; fi; \
	fi

# Three xdist workers on two cores: most tests spend their time waiting on sockets, processes and
# the platform simulator, not computing (measured: 1.2 cores busy with two workers, 438 s; four
# overloaded the machine enough to starve timing-bound tests). The process-heavy tests share one
# worker (tests/conftest.py), so they never overlap.
TEST_WORKERS ?= 3
test: install-dev browser
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy herald content_queue scheduler tasks celeryconfig.py
	$(BIN)/lint-imports
	$(BIN)/python -m herald.core.catalog check
	$(BIN)/python .ci/audit.py

# After adding or changing a string meant for people: extract it into the catalogs, then
# translate the new entries of herald/locale/ko/LC_MESSAGES/messages.po and run this again.
i18n: install-dev
	$(BIN)/python -m herald.core.catalog update
	$(BIN)/python -m herald.core.catalog compile

# The README's screenshots (docs/screenshot*.png, at 1280 and 390 px), made by the browser
# tests. Hangul needs a CJK font: Debian's fonts-noto-cjk (the browser target installs it).
screenshots: install-dev browser
	HERALD_SCREENSHOT=docs/screenshot.png $(BIN)/pytest -q -p no:cacheprovider -m browser -k "not postgres" tests/web tests/e2e

# After changing dependencies in pyproject.toml: the lock files, with every file's hash.
LOCK := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --strip-extras
lock: install-dev
	$(LOCK) --extra postgres -o requirements.lock pyproject.toml
	$(LOCK) --extra dev --extra postgres -o requirements-dev.lock pyproject.toml

bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install-dev
	$(BIN)/python -m bench --quick

chaos: install-dev
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
