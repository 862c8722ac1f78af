# The two commands of the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ECHARTS := dashboards/node_modules/echarts/dist/echarts.min.js

.PHONY: install run test lint typecheck check bench clean constraints

# Installs are pinned by constraints.txt: the versions the suite last passed with (a fresh machine
# must not pick up whatever is newest, e.g. a kombu that no longer reconnects to Redis).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Regenerate the pins from this .venv: run after `make test` passed on a changed dependency set.
constraints:
	{ echo "# Versions the suite passed with; regenerate with 'make constraints' (pip freeze, minus yuqing)."; \
	  $(BIN)/pip freeze --disable-pip-version-check --exclude-editable | grep -viE '^(yuqing|-e )'; } > constraints.txt

# ECharts comes from the npm registry and is served by the app itself (no CDN on an intranet).
$(ECHARTS): dashboards/package.json dashboards/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd dashboards && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the dashboard works, but without its trend chart"; \
	fi

install: $(STAMP) $(ECHARTS)

run: install
	$(BIN)/yuqing run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy core crawlers worker api dashboards cli

check: lint typecheck test

bench: install
	$(BIN)/python benchmarks/analysis.py

clean:
	rm -rf $(VENV) var dashboards/node_modules .pytest_cache .mypy_cache .ruff_cache
