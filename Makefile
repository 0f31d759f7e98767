# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint typecheck pytest fuzz bench readme readme-screenshot lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gnomon migrate
	@echo "Gnomon: http://$${GNOMON_HOST:-127.0.0.1}:$${GNOMON_PORT:-8080}  (API docs at /docs)"
	$(BIN)/gnomon serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# Schemathesis at length: GNOMON_FUZZ_EXAMPLES per operation (default 100), fresh random input.
fuzz: $(STAMP)
	GNOMON_FUZZ_EXAMPLES=$${GNOMON_FUZZ_EXAMPLES:-100} GNOMON_FUZZ_RANDOM=1 \
		$(BIN)/pytest -p no:cacheprovider tests/fuzz

bench: $(STAMP)
	$(BIN)/python bench/api.py

readme: $(STAMP)
	$(BIN)/python scripts/readme_settings.py

# The image's pinned dependencies with their hashes (requirements.lock, requirements-build.lock),
# from pyproject.toml; keeps the pins that still fit. `make lock UPGRADE=1` takes the newest releases.
lock: $(STAMP)
	$(BIN)/python scripts/requirements_lock.py $(if $(UPGRADE),--upgrade)

# The README's picture of the run page, taken by the browser journey from a real run on Docker.
readme-screenshot: $(STAMP)
	GNOMON_SCREENSHOTS=.cache/screenshots $(BIN)/pytest -q tests/web/browser/test_journey.py \
		-k graph_and_the_log_live
	cp .cache/screenshots/readme-run-page.png docs/run-page.png

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
