# One entry point for students, instructors and maintainers. Every target runs from the
# repository root, because nbgrader reads ./nbgrader_config.py and has no --config flag.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the book extra (Sphinx, myst-nb): make book
BOOK_STAMP := $(VENV)/.book-installed
# nbgrader runs helper programs (alembic) by name: the environment's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test lint benchmark clean notebooks check-notebooks release grade feedback export collect browser-deps test-browser book

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

test: $(STAMP) sandbox-deps
	$(BIN)/python -m pytest

# The grading sandbox (course/sandbox.py): Debian's bubblewrap, and util-linux's prlimit and
# setpriv. sandbox-deps installs what is missing as root, and says what to install otherwise.
SANDBOX_PACKAGES := bubblewrap util-linux
.PHONY: sandbox-deps
sandbox-deps:
	@if command -v bwrap >/dev/null && command -v prlimit >/dev/null && command -v setpriv >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SANDBOX_PACKAGES); \
	else echo "The grading sandbox needs Debian's packages $(SANDBOX_PACKAGES) (as root: apt-get install $(SANDBOX_PACKAGES))"; exit 1; fi

# The course as a student sees it: every notebook run in JupyterLab in headless Chromium
# (tests/browser, marked `browser`; plain `make test` leaves them out, .ci/run runs both).
# Two workers, each with its own JupyterLab and Chromium: one waits while the other computes.
test-browser: $(STAMP) browser-deps $(BOOK_STAMP)  # tests/browser/test_book_site.py builds the site
	$(BIN)/python -m pytest -m browser -n 2 --dist loadgroup tests/browser

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
CHROMIUM := /usr/bin/chromium
browser-deps:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "The browser tests need Chromium at $(CHROMIUM): install Debian's 'chromium' package (apt-get install chromium, as root)"; exit 1; fi

# The course as a static website in build/book/html/ (course/book.py): the README as its
# landing page, the lectures with their stored figures, the student versions of the assignments.
$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[course,dev,book]'
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	$(BIN)/python -m course.book

lint: $(STAMP)
	$(BIN)/ruff check autodiff_lib course tests benchmarks deploy cpp nbgrader_config.py $(wildcard lectures assignments)

# The notebooks: each text file of lectures/ and assignments/ synced with its .ipynb, checked and
# run (course/pairs.py); the notebooks not converted yet from their builders in course/.
notebooks: $(STAMP)
	$(BIN)/python -m course.build

# Exit 1, naming each file, if a text and its .ipynb disagree or stored outputs are older than
# the code (tests/pipeline/test_pairs.py checks the same); `make notebooks` fixes both.
check-notebooks: $(STAMP)
	$(BIN)/python -m course.build --check

# Student versions: release/<assignment>/ from source/<assignment>/, for every assignment.
release: notebooks
	$(BIN)/nbgrader generate_assignment '*' --force

# Autograde everything under submitted/, a process per submission, one per core at a time, and
# print the scores. ARGS: --jobs=N, --timeout=SECONDS, --force, or options of nbgrader autograde.
# Each submission's kernel runs in a sandbox (course/sandbox.py; make sandbox-deps installs it);
# ARGS=--no-sandbox grades without it.
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
$(VENV)/.deploy-installed: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[deploy]'
	touch $@
$(HUB)/.installed: $(VENV)/.deploy-installed
	npm install --prefix $(HUB) --no-audit --no-fund --silent configurable-http-proxy@5
	@$(HUB_PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	test -x $(HUB)/venv/bin/python || $(HUB_PYTHON) -m venv $(HUB)/venv
	$(HUB)/venv/bin/python -m pip install --quiet --upgrade pip
	$(HUB)/venv/bin/python -m pip install --quiet -e '.[course,deploy]'
	touch $@

test-hub: hub-deps sandbox-deps
	$(BIN)/python -m pytest -p no:cacheprovider -s -m hub tests/hub

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
	@command -v bwrap >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SANDBOX_PACKAGES); }
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

# -- the C++ port (cpp/, see cpp/README.md) ----------------------------------------------------
# Debian's packages: CMake and g++, xtensor with xtensor-blas over OpenBLAS, doctest, and xsimd
# (only the SIMD build of make benchmark-cpp uses it). cpp-deps installs the missing ones as root,
# and says which to install otherwise. pybind11 comes from PyPI (the extra `cpp`).
CPP_PACKAGES := cmake g++ libxtensor-dev libxtensor-blas-dev libopenblas-dev doctest-dev libxsimd-dev
CPP_BUILD := cpp/build
CPP_JOBS ?= 2
CPP_PYTHON = -DPython_EXECUTABLE=$(CURDIR)/$(BIN)/python -Dpybind11_DIR="$$($(BIN)/python -m pybind11 --cmakedir)"
CPP_ENV = PYTHONPATH=$(CURDIR)/$(CPP_BUILD)/release/python AUTODIFF_CPP_BUILD=$(CURDIR)/$(CPP_BUILD)/release
.PHONY: cpp-deps cpp cpp-sanitize test-cpp test-cpp-sanitize cpp-examples benchmark-cpp

cpp-deps:
	@missing=$$(for p in $(CPP_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "The C++ port needs Debian's packages:" $$missing "(as root: apt-get install" $$missing")"; exit 1; fi

$(VENV)/.cpp-installed: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[cpp]'
	touch $@

# The library, its tests, the Python module and the examples, in cpp/build/release (git-ignored).
cpp: cpp-deps $(VENV)/.cpp-installed
	cmake -S cpp -B $(CPP_BUILD)/release -DCMAKE_BUILD_TYPE=Release $(CPP_PYTHON)
	cmake --build $(CPP_BUILD)/release -j $(CPP_JOBS)

# ctest (the C++ unit tests), the same tests built with AddressSanitizer, LeakSanitizer and
# UBSan, then the Python cross-check against autodiff_lib and the examples (tests/cpp).
test-cpp: cpp
	ctest --test-dir $(CPP_BUILD)/release -j $(CPP_JOBS) --output-on-failure
	$(MAKE) --no-print-directory test-cpp-sanitize
	$(CPP_ENV) $(BIN)/python -m pytest -p no:cacheprovider tests/cpp

# The sanitizer build alone (.ci/run builds it beside make test).
cpp-sanitize: cpp-deps
	cmake -S cpp -B $(CPP_BUILD)/sanitize -DCMAKE_BUILD_TYPE=Sanitize -DAUTODIFF_PYTHON=OFF -DAUTODIFF_EXAMPLES=OFF
	cmake --build $(CPP_BUILD)/sanitize -j $(CPP_JOBS)

test-cpp-sanitize: cpp-sanitize
	ctest --test-dir $(CPP_BUILD)/sanitize -j $(CPP_JOBS) --output-on-failure

# Parts 01 and 03 in C++, on data written by numpy (cpp/examples/make_data.py).
cpp-examples: cpp
	$(BIN)/python cpp/examples/make_data.py $(CPP_BUILD)/data
	$(CPP_BUILD)/release/examples/part01_newton_vs_gd $(CPP_BUILD)/data
	$(CPP_BUILD)/release/examples/part03_deep_learning $(CPP_BUILD)/data

# The port beside autodiff_lib, numpy and PyTorch (when installed) on benchmarks/' workloads, in
# three builds (-O2, -O3 -march=native, xsimd) in cpp/build/benchmark; run by hand (ARGS=--quick).
benchmark-cpp: cpp-deps $(VENV)/.cpp-installed
	cmake -S cpp -B $(CPP_BUILD)/benchmark -DCMAKE_BUILD_TYPE=Release -DAUTODIFF_TESTS=OFF \
		-DAUTODIFF_EXAMPLES=OFF -DAUTODIFF_PYTHON=OFF -DAUTODIFF_BENCHMARKS=ON $(CPP_PYTHON)
	cmake --build $(CPP_BUILD)/benchmark -j $(CPP_JOBS)
	PYTHONPATH=$(CURDIR)/$(CPP_BUILD)/benchmark/python $(BIN)/python -m benchmarks.cpp $(ARGS)
