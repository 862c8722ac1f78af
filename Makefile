# The two commands of the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ECHARTS := dashboards/node_modules/echarts/dist/echarts.min.js

.PHONY: install run test lint typecheck check bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

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

# Mutation testing of the rules (config in pyproject.toml; results: .venv/bin/mutmut results).
mutation: install
	$(BIN)/mutmut run --max-children 2

clean:
	rm -rf $(VENV) var dashboards/node_modules .pytest_cache .mypy_cache .ruff_cache mutants
