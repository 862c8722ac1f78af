# The two commands of the README: `make run` and `make test`. Both set everything up first,
# including the web application (npm ci + vue-tsc + vite build from the lock file; no CDN).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two test processes (one per core): each has its own PostgreSQL database and Redis database.
PYTEST_ARGS ?= -n 2 --dist loadfile
STAMP  := $(VENV)/.installed-stamp
WEB    := dashboards
NPM_STAMP := $(WEB)/node_modules/.package-lock.json
WEB_BUILD := $(WEB)/dist/index.html
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts \
	$(WEB)/tsconfig.json $(WEB)/tsconfig.app.json

.PHONY: install web run test lint typecheck check bench clean openapi constraints mutation

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

$(NPM_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "未找到 npm：网页应用需要 Node.js 20+ 与 npm 构建（apt-get install nodejs npm）" >&2; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

# vue-tsc runs before vite build, so an API field renamed in openapi.json breaks the build.
$(WEB_BUILD): $(NPM_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npm run --silent build

web: $(WEB_BUILD)

install: $(STAMP) $(WEB_BUILD)

# API types for the web app: dump app.openapi() (no server needed), then generate src/api/schema.d.ts.
openapi: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m dashboards.openapi_dump
	cd $(WEB) && npm run --silent gen:api

run: install
	$(if $(PORT),YUQING_PORT=$(PORT) )$(BIN)/yuqing run

test: install
	cd $(WEB) && npm run --silent test:unit
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy core crawlers worker api dashboards cli
	cd $(WEB) && npm run --silent typecheck

check: lint typecheck test

bench: install
	$(BIN)/python benchmarks/analysis.py

# Mutation testing of the rules (config in pyproject.toml; results: .venv/bin/mutmut results).
mutation: install
	$(BIN)/mutmut run --max-children 2

clean:
	rm -rf $(VENV) var $(WEB)/node_modules $(WEB)/dist .pytest_cache .mypy_cache .ruff_cache mutants
