# impkit: two commands on a fresh machine — `make book` and `make test`.
# Everything installs into .venv from requirements.txt (pinned toolchain); nothing is fetched at run time.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PY        ?= python3
VENV      ?= .venv
PYTHON    := $(VENV)/bin/python
STAMP     := $(VENV)/.impkit-installed
RAY_STAMP := $(VENV)/.impkit-ray-installed
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

.PHONY: help setup ray book test unit nbval site-check check-pages paper-smoke standin notebooks runs bench clean clean-runs recorded recorded-screen

help:
	@echo "make book        set up, run the book's experiments (cached in $(RUNS)/), execute notebooks at PRESET=$(PRESET), build HTML"
	@echo "make book PRESET=ci   fast build at the ci preset"
	@echo "make test        set up, run unit tests, nbval on the notebooks at the ci preset, and the paper smoke pass"
	@echo "make paper-smoke execute every notebook at preset=paper (few steps) on the ImageNet32 stand-in"
	@echo "make site-check  build the site from the nbval notebooks and check it (offline assets, links, downloads)"
	@echo "make check-pages open every page of _build/html in headless Chromium, offline (needs chromium)"
	@echo "make notebooks   write paired .ipynb files next to notebooks/*.py for interactive use"
	@echo "make bench       print speed and memory benchmarks for this machine"
	@echo "make recorded    recompute the scale study's recorded summaries (book/recorded/scale; RUNGS=... for some)"
	@echo "make recorded-screen  recompute the appendix screen's recorded rows (book/recorded/screen; needs their data)"
	@echo "make ray         install the optional Ray engine of 'impkit sweep' (impkit[ray]; make test needs it)"
	@echo "make clean       remove build outputs (keeps $(RUNS)/); make clean-runs removes run results"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP)

# The optional Ray engine of `impkit sweep --engine ray` (the extra impkit[ray], pinned in pyproject.toml). The unit
# tests run a local Ray cluster, so `make test` installs it; `make book` does not need it.
$(RAY_STAMP): $(STAMP)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[ray]'
	@touch $@

ray: $(RAY_STAMP)

# Execute every notebook at $(PRESET) with papermill into $(EXECUTED)/ (runs are created or reused under $(RUNS)/).
runs: $(STAMP)
	$(PYTHON) tools/run_notebooks.py --preset $(PRESET) --runs $(RUNS) --device $(DEVICE) --out $(EXECUTED) $(NB_SRC)

book: runs
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going --quiet
	@echo "Book built: $(abspath _build/html/index.html)"

unit: $(STAMP) $(RAY_STAMP)
	$(PYTHON) -m pytest tests

# nbval re-executes the ci-preset notebooks and checks the cells marked NBVAL_CHECK_OUTPUT against the
# outputs papermill recorded; runs created by the first pass are reused by the second. Both passes hide system data
# packages (IMPKIT_SYSTEM_DATA=0: Fashion-MNIST's Debian package), so that the site check below builds the book as a
# machine without them has it, whatever this one has installed (`make book` uses what is installed).
nbval: $(STAMP)
	IMPKIT_SYSTEM_DATA=0 $(PYTHON) tools/run_notebooks.py --preset ci --runs $(RUNS) --device cpu --out $(CI_NB) $(NB_SRC)
	IMPKIT_SYSTEM_DATA=0 $(PYTHON) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
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

# The built site, checked without executing anything again: the HTML is built from the ci-preset notebooks that
# `make nbval` just executed (a source tree of links: the book's files, with book/executed -> _build/nbval) and
# tests/site checks it: no remote script, stylesheet or font; MathJax served from the build; every local link
# resolves; each notebook page offers its executed .ipynb and its .py; the execution-statistics table matches the
# notebooks' metadata; author-year citations match the bibliography. About 15 s.
SITE_CHECK := _build/site-check
site-check: nbval
	rm -rf $(SITE_CHECK)
	mkdir -p $(SITE_CHECK)/src/book
	ln -s $(abspath _config.yml) $(abspath _toc.yml) $(abspath notebooks) $(SITE_CHECK)/src/
	for f in book/*; do [ "$$f" = $(EXECUTED) ] || ln -s $(abspath .)/$$f $(SITE_CHECK)/src/book/; done
	ln -s $(abspath $(CI_NB)) $(SITE_CHECK)/src/$(EXECUTED)
	$(VENV)/bin/jupyter-book build $(SITE_CHECK)/src --path-output $(SITE_CHECK) --warningiserror --keep-going --quiet
	$(PYTHON) -m pytest -p no:cacheprovider tests/site --site $(SITE_CHECK)/_build/html

# Every page of the built book in headless Chromium with no network: typeset formulas, raw TeX left, failed loads.
check-pages: $(STAMP)
	$(PYTHON) tools/check_pages.py _build/html --screenshots _build/check-pages

test: unit nbval site-check paper-smoke

notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync $(NB_SRC) 2>/dev/null || $(VENV)/bin/jupytext --set-formats ipynb,py:percent $(NB_SRC)

# The scale study's recorded summaries (book/recorded/scale/*.json): rungs and dose points too long for `make book`,
# trained (or reused) under $(RUNS)/ and summarised with their provenance. RUNGS picks some (`python -m impkit.scale
# list`); the default regenerates all but the paper rung, which needs a GPU.
RUNGS ?= recorded
recorded: $(STAMP)
	$(PYTHON) -m impkit.scale record $(RUNGS) --root $(RUNS)

# The appendix screen's recorded rows (book/recorded/screen/*.json): candidates whose data not every machine has
# (Fashion-MNIST: the Debian package dataset-fashion-mnist) or that would not fit the book's time budget, screened
# once by impkit.sweep with their provenance so that `make book` never trains them and builds the same with or
# without the package. Needs the data installed; `make book` and `make test` never install system packages.
recorded-screen: $(STAMP)
	$(PYTHON) -m impkit.sweep record recorded --root $(RUNS)

bench: $(STAMP)
	$(PYTHON) bench/run_all.py

clean:
	rm -rf _build $(EXECUTED) notebooks/*.ipynb .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

clean-runs:
	rm -rf $(RUNS)
