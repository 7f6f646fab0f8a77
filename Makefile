# Each target is complete on a fresh machine with Python 3.11+: it makes its
# own virtual environment and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test docs typing dist sdist-check guide-check browser lint bench clean

$(BIN)/pytest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . --group dev
	# pytest-flask beside the environment, not in it: one test loads it to check
	# that both plugins installed together work; every other run stays without it.
	$(BIN)/pip install --quiet --no-deps --upgrade --target $(VENV)/pytest-flask 'pytest-flask>=1.3'
	touch $@

# The example app's suite on the embedded default (in-memory SQLite): no server needed.
demo: $(BIN)/pytest
	$(BIN)/pytest examples/myapp

# The project's whole suite: SQLite, PostgreSQL and MariaDB (a missing server is
# skipped with its reason, or fails the run when CI=true), on two workers (each
# uses databases of its own).
test: $(BIN)/pytest browser docs typing sdist-check guide-check
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/pytest -n 2

# The documentation site (mkdocs.yml, pages in docs/), built strictly: a broken
# link or a page missing from the nav fails the build.
docs: $(BIN)/pytest
	$(BIN)/mkdocs build --strict --site-dir build/site

# The release artifacts, built from a clean dist/ and checked as PyPI will
# (metadata, long description).
dist: $(BIN)/pytest
	rm -rf dist
	$(BIN)/python -m build --quiet --outdir dist .
	$(BIN)/twine check --strict dist/*

# The sdist runs its own tests and type check, unpacked and installed far from
# this checkout (see .ci/sdist-check).
sdist-check: dist
	PYTHON=$(PYTHON) .ci/sdist-check dist/*.tar.gz

# The five-minute guide of the docs, written out as given and run in a fresh
# virtual environment holding only the built wheel (see .ci/guide-check).
guide-check: dist
	PYTHON=$(PYTHON) DEV_PYTHON=$(BIN)/python .ci/guide-check dist/*.whl

# What users copy from the example (its tests and fixtures) passes mypy --strict
# against the plugin's own types; the files are listed in pyproject.toml.
typing: $(BIN)/pytest
	$(BIN)/mypy

# The example's browser tests drive Debian's Chromium and its driver (Selenium
# comes with the test dependency group); installed here when missing, never downloaded at
# run time. Without root or sudo, or without apt, the browser tests skip with
# one line (and fail under CI=true).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } || \
		echo "chromium not installed: the browser tests will skip (apt-get install chromium chromium-driver)"

bench: $(BIN)/pytest
	$(BIN)/pip install --quiet -e . --group dev --group bench
	$(BIN)/python -m benchmarks.isolation

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist
