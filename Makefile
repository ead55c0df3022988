# impkit: two commands on a fresh machine — `make book` and `make test`.
# Everything installs into .venv from requirements.txt (pinned toolchain); nothing is fetched at run time.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PY        ?= python3
VENV      ?= .venv
PYTHON    := $(VENV)/bin/python
STAMP     := $(VENV)/.impkit-installed
PRESET    ?= default
RUNS      ?= runs
DEVICE    ?= auto
NB_SRC    := $(sort $(wildcard notebooks/*.py))
EXECUTED  := book/executed
CI_NB     := _build/nbval
# Keep numerical libraries to the machine's cores; set here so papermill kernels inherit it.
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup book test unit nbval notebooks runs bench clean clean-runs

help:
	@echo "make book        set up, run the book's experiments (cached in $(RUNS)/), execute notebooks at PRESET=$(PRESET), build HTML"
	@echo "make book PRESET=ci   fast build at the ci preset"
	@echo "make test        set up, run unit tests and nbval on the notebooks at the ci preset"
	@echo "make notebooks   write paired .ipynb files next to notebooks/*.py for interactive use"
	@echo "make bench       print speed and memory benchmarks for this machine"
	@echo "make clean       remove build outputs (keeps $(RUNS)/); make clean-runs removes run results"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP)

# Execute every notebook at $(PRESET) with papermill into $(EXECUTED)/ (runs are created or reused under $(RUNS)/).
runs: $(STAMP)
	$(PYTHON) tools/run_notebooks.py --preset $(PRESET) --runs $(RUNS) --device $(DEVICE) --out $(EXECUTED) $(NB_SRC)

book: runs
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going --quiet
	@echo "Book built: $(abspath _build/html/index.html)"

unit: $(STAMP)
	$(PYTHON) -m pytest tests

# nbval re-executes the ci-preset notebooks and checks the cells marked NBVAL_CHECK_OUTPUT against the
# outputs papermill recorded; runs created by the first pass are reused by the second.
nbval: $(STAMP)
	$(PYTHON) tools/run_notebooks.py --preset ci --runs $(RUNS) --device cpu --out $(CI_NB) $(NB_SRC)
	$(PYTHON) -m pytest --nbval-lax --current-env -p no:cacheprovider \
	    --nbval-sanitize-with tools/nbval_sanitize.cfg $(CI_NB)/*.ipynb

test: unit nbval

notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync $(NB_SRC) 2>/dev/null || $(VENV)/bin/jupytext --set-formats ipynb,py:percent $(NB_SRC)

bench: $(STAMP)
	$(PYTHON) bench/run_all.py

clean:
	rm -rf _build $(EXECUTED) notebooks/*.ipynb .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

clean-runs:
	rm -rf $(RUNS)
