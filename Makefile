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
# The paper preset's smoke pass: every notebook at preset=paper on the ImageNet32 stand-in (NOT ImageNet32; crops
# of the bundled photographs, 4 train and 2 validation images per class, generated in seconds) with the few-step
# overrides of impkit.presets.SMOKE["paper"]. Its runs live in a folder of their own and are retrained every time.
STANDIN   := _build/standin
SMOKE_NB  := _build/paper-smoke
SMOKE_RUNS := _build/paper-smoke/runs
# Keep numerical libraries to the machine's cores; set here so papermill kernels inherit it.
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup book test unit nbval paper-smoke standin notebooks runs bench clean clean-runs

help:
	@echo "make book        set up, run the book's experiments (cached in $(RUNS)/), execute notebooks at PRESET=$(PRESET), build HTML"
	@echo "make book PRESET=ci   fast build at the ci preset"
	@echo "make test        set up, run unit tests, nbval on the notebooks at the ci preset, and the paper smoke pass"
	@echo "make paper-smoke execute every notebook at preset=paper (few steps) on the ImageNet32 stand-in"
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
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
	    --nbval-sanitize-with tools/nbval_sanitize.cfg $(CI_NB)/*.ipynb

# The ImageNet32 stand-in in both official layouts (npz and pickle); rebuilt when its generator changes.
$(STANDIN)/STANDIN.txt: impkit/data/standin.py impkit/data/photos.py Makefile $(STAMP)
	rm -rf $(STANDIN)
	$(PYTHON) -m impkit.data.standin --out $(STANDIN) --per-class-train 4 --per-class-val 2 --format both

standin: $(STANDIN)/STANDIN.txt

# Every notebook at preset=paper: 3072:1024:1024:1000, 1000 classes, per-channel clone, 10 rounds, but
# SMOKE["paper"]'s few SGD steps per round and seeds. papermill refuses stderr output and numpy glue as for the
# book; nbval is not repeated here (the ci pass checks output stability; this pass checks that the paper's shapes
# execute). IMPKIT_DATA points at the stand-in even if a real ImageNet32 is installed: the smoke must stay cheap.
# The cavity-pruning page runs there on one seed with IMP and the two cavity methods only (it would otherwise add
# eight more paper-sized runs and about six minutes to `make test`); its code path is the same for any method list.
CAVITY_NB := notebooks/07_cavity_pruning.py
paper-smoke: $(STAMP) $(STANDIN)/STANDIN.txt
	rm -rf $(SMOKE_RUNS)
	IMPKIT_DATA=$(abspath $(STANDIN)) $(PYTHON) tools/run_notebooks.py --preset paper --smoke --runs $(SMOKE_RUNS) \
	    --device cpu --out $(SMOKE_NB) $(filter-out $(CAVITY_NB),$(NB_SRC))
	IMPKIT_DATA=$(abspath $(STANDIN)) $(PYTHON) tools/run_notebooks.py --preset paper --smoke --runs $(SMOKE_RUNS) \
	    --device cpu --out $(SMOKE_NB) -p 'methods=["imp", "cavity", "cavity-trained"]' -p 'seeds=[0]' $(CAVITY_NB)
	rm -rf $(SMOKE_RUNS)

test: unit nbval paper-smoke

notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync $(NB_SRC) 2>/dev/null || $(VENV)/bin/jupytext --set-formats ipynb,py:percent $(NB_SRC)

bench: $(STAMP)
	$(PYTHON) bench/run_all.py

clean:
	rm -rf _build $(EXECUTED) notebooks/*.ipynb .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

clean-runs:
	rm -rf $(RUNS)
