# One entry point for students, instructors and maintainers. Every target runs from the
# repository root, because nbgrader reads ./nbgrader_config.py and has no --config flag.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs helper programs (alembic) by name: the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test lint benchmark clean notebooks release grade feedback export collect browser-deps test-browser

# Create the virtual environment and install the package with the course and dev extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,dev]'
	touch $(STAMP)

# JupyterLab at the root, on this machine only. nbgrader's extensions (formgrader, create and
# validate assignment, assignment list) are enabled by installing nbgrader. JupyterLab refuses
# to run as root unless told, as in a container: then it is told.
# nbgrader's panels look for an exchange (the hub's shared folder): on this machine they get
# .exchange/ (git-ignored) through course/lab/, instead of warning about a system folder.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_CONFIG := $(CURDIR)/course/lab$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))
lab: $(STAMP)
	mkdir -p .exchange
	JUPYTER_CONFIG_PATH=$(LAB_CONFIG) $(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=. $(ALLOW_ROOT) $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

# The course as a student sees it: every notebook run in JupyterLab in headless Chromium
# (tests/browser, marked `browser`; plain `make test` leaves them out, .ci/run runs both).
# Two workers, each with its own JupyterLab and Chromium: one waits while the other computes.
test-browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest -m browser -n 2 --dist loadgroup tests/browser

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
CHROMIUM := /usr/bin/chromium
browser-deps:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "The browser tests need Chromium at $(CHROMIUM): install Debian's 'chromium' package (apt-get install chromium, as root)"; exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check autodiff_lib course tests benchmarks deploy nbgrader_config.py

# Source notebooks from their builders in course/ (refuses to overwrite hand edits).
notebooks: $(STAMP)
	$(BIN)/python -m course.build

# Student versions: release/<assignment>/ from source/<assignment>/, for every assignment.
release: notebooks
	$(BIN)/nbgrader generate_assignment '*' --force

# Autograde everything under submitted/, a process per submission, one per core at a time, and
# print the scores. ARGS: --jobs=N, --timeout=SECONDS, --force, or options of nbgrader autograde.
grade: $(STAMP)
	$(BIN)/python -m course.grades $(ARGS)

# Feedback (HTML, hidden tests removed) under feedback/<student>/<assignment>/, for the
# submissions with nothing left to grade by hand. ARGS: --include-ungraded, --force, --student=ID.
feedback: $(STAMP)
	$(BIN)/python -m course.feedback $(ARGS)

# The grades as CSV (grades.csv, git-ignored) for a learning-management system. ARGS: --to=FILE.
export: $(STAMP)
	$(BIN)/python -m course.export $(ARGS)

# A hand-in received by hand, with the time it came in:
# make collect ARGS="STUDENT ASSIGNMENT FILE... [--at 2026-10-12T23:59+02:00]"
collect: $(STAMP)
	$(BIN)/python -m course.collect $(ARGS)

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The class-scale deployment (deploy/jupyterhub/) and its end-to-end test. hub-deps: JupyterHub
# in .venv (the hub runs as root), configurable-http-proxy from npm in .hub/, and the users'
# environment .hub/venv made from the system's Python (the hub's users are not root: they
# cannot run a Python that lives under /root). test-hub: as root (it creates system users).
HUB := .hub
HUB_PYTHON ?= /usr/bin/python3
.PHONY: hub-deps test-hub
hub-deps: $(HUB)/.installed
$(HUB)/.installed: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[deploy]'
	npm install --prefix $(HUB) --no-audit --no-fund --silent configurable-http-proxy@5
	@$(HUB_PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	test -x $(HUB)/venv/bin/python || $(HUB_PYTHON) -m venv $(HUB)/venv
	$(HUB)/venv/bin/python -m pip install --quiet --upgrade pip
	$(HUB)/venv/bin/python -m pip install --quiet -e '.[course,deploy]'
	touch $@

test-hub: hub-deps
	$(BIN)/python -m pytest -p no:cacheprovider -s deploy/jupyterhub/tests

# On the hub's server, as root, in the course's one checkout (/srv/autodiff/course): the
# environment of the hub and its users (not editable: users never read the private checkout),
# their Jupyter settings and configurable-http-proxy, all from this checkout. Run it again
# after each `git pull`; deploy/jupyterhub/README.md says when servers pick it up.
HUB_PREFIX ?= /opt/autodiff
.PHONY: hub-install
hub-install:
	@[ "$$(id -u)" = 0 ] || { echo "make hub-install: run it as root (it writes $(HUB_PREFIX))"; exit 1; }
	@$(HUB_PYTHON) -c 'import ensurepip, venv' 2>/dev/null && command -v npm >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv npm; }
	test -x $(HUB_PREFIX)/venv/bin/python || $(HUB_PYTHON) -m venv $(HUB_PREFIX)/venv
	$(HUB_PREFIX)/venv/bin/python -m pip install --quiet --upgrade pip
	$(HUB_PREFIX)/venv/bin/python -m pip install --quiet '.[course,deploy]'
	$(HUB_PREFIX)/venv/bin/python -m pip install --quiet --no-deps --force-reinstall .
	npm install --prefix $(HUB_PREFIX)/proxy --no-audit --no-fund --silent configurable-http-proxy@5
	rm -rf $(HUB_PREFIX)/settings.new && mkdir -p $(HUB_PREFIX)/settings.new
	cp -R deploy/jupyterhub/jupyter deploy/jupyterhub/student $(HUB_PREFIX)/settings.new/
	rm -rf $(HUB_PREFIX)/settings && mv $(HUB_PREFIX)/settings.new $(HUB_PREFIX)/settings
	chmod -R a+rX,go-w $(HUB_PREFIX)
	git rev-parse HEAD > $(HUB_PREFIX)/installed-commit
