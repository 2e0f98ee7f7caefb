# The course's two commands are `make lab` and `make test` (see README.md). Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.11 (found by default) or 3.10 (give it: make test PYTHON=python3.10, the NGC container's Python):
# TensorFlow 2.12, the newest Merlin accepts, has no wheel for 3.12+. Each Python gets its own venv.
PYTHON ?= $(shell for p in python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && command -v $$p && break; done)
# None found: for a target that needs the venv, tools/find_python.sh takes python3.10, or provisions Python 3.11 with
# uv from the package index (pip install uv into .uv-bootstrap, uv python install 3.11), saying what it does.
ifeq ($(PYTHON),)
ifneq ($(filter-out help clean clean-data,$(or $(MAKECMDGOALS),help)),)
PYTHON := $(shell tools/find_python.sh)
endif
endif
PYVER := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null),)
VENV := $(if $(and $(PYTHON),$(filter-out 3.11,$(or $(PYVER),none))),.venv-$(or $(PYVER),unknown),.venv)
PY := $(VENV)/bin/python
SCALE ?=
# Empty SCALE: the device decides (small on a CPU, workshop on a GPU).
SCALE_ARG := $(if $(SCALE),--scale $(SCALE),)
PORT ?= 8888
PINS_HASH := $(shell cat requirements.txt constraints.txt pyproject.toml 2>/dev/null | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(PINS_HASH)
PYTEST := RECSYS_SCALE=tiny $(PY) -m pytest -q
# make test runs test files side by side (pytest-xdist), a notebook's cells in order on one worker (--dist loadfile):
# TensorFlow already uses every core for training, so more workers than 2 mostly add memory (a kernel each).
TEST_WORKERS ?= 2

.PHONY: help venv lab test test-fast data labs outputs screenshot bench clean clean-data lock doctor

help:
	@echo "make lab          install if needed, make the data if missing, start JupyterLab (127.0.0.1, token)"
	@echo "                  SCALE=tiny|small|workshop (default: small on a CPU, workshop on a GPU)"
	@echo "make test         install if needed, run every test (tiny data, notebooks, solutions, labs); TEST_WORKERS=2"
	@echo "make test-fast    unit tests only (no notebooks, no training, no JupyterLab): the inner loop"
	@echo "make data SCALE=tiny|small|workshop    generate + prepare + NVTabular for one scale"
	@echo "make labs         regenerate labs/ from solutions/"
	@echo "make outputs      run notebooks/01-04 and 06 at small and store their outputs (tables, plots) for GitHub"
	@echo "make bench        benchmarks and measured claims -> bench/RESULTS.md (long; not part of make test)"
	@echo "make doctor       versions, device decision, data status"
	@echo "make clean        remove .venv and generated data"

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Python 3.11 not found (TensorFlow 2.12, the newest Merlin Models and NVTabular accept, has no wheel for 3.12+)." >&2; \
	  echo "       Install python3.11 (e.g. 'apt install python3.11 python3.11-venv', pyenv, or python.org)," >&2; \
	  echo "       or use the conda environment: 'conda env create -f environment.yml' (GPU path)." >&2; \
	  exit 1; fi
	@case "$(PYVER)" in 3.10|3.11) ;; *) \
	  echo "error: PYTHON=$(PYTHON) is Python '$(PYVER)': the course runs on Python 3.11 or 3.10 (TensorFlow 2.12)." >&2; \
	  exit 1;; esac
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import recsys_course, tensorflow, merlin.models.tf, nvtabular" 2>/dev/null || { echo "error: the environment in $(VENV) does not import; run 'make clean' and retry" >&2; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

data: venv
	$(PY) -m recsys_course data $(SCALE_ARG)

lab: venv
	$(PY) -m recsys_course data $(SCALE_ARG)
	$(if $(SCALE),RECSYS_SCALE=$(SCALE) ,)$(PY) -m recsys_course lab --port $(PORT)

doctor: venv
	$(PY) -m recsys_course doctor

labs: venv
	$(PY) -m recsys_course labs

# Work units for the two workers (tests/conftest.py): a file, or one whole-notebook run; longest first, in that
# order (--no-loadscope-reorder). Extra pytest arguments: make test PYTEST_ARGS="--durations=20".
test: venv
	$(PY) -m recsys_course data --scale tiny --no-progress
	$(PYTEST) -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder tests solutions --nbval-lax $(PYTEST_ARGS)

test-fast: venv
	$(PYTEST) tests -m "not slow and not notebook"

# Walkthroughs readable on GitHub: run notebooks/01-04 and 06 at small and store their outputs without noise (nbrun.py).
outputs: venv
	$(PY) -m recsys_course data --scale tiny --no-progress
	$(PY) -m recsys_course data --scale small
	$(PY) -m recsys_course outputs notebooks/0[1-46]_*.ipynb --scale small --reference tiny

# The README's browser screenshot (docs/img/lab_check_in_browser.png), from the browser test.
screenshot: venv
	RECSYS_SCREENSHOT=1 $(PYTEST) tests/test_browser.py

# Bench-only packages (the Polars peer) go into the venv here, not in make venv; the peer runs first at small.
bench: venv
	$(PY) -m pip install -q --disable-pip-version-check -r bench/requirements.txt -c constraints.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m recsys_course data --scale small
	$(PY) bench/peer_polars.py compare --raw data/small/raw --name small
	$(PY) bench/run.py

lock: venv
	@test "$(PYVER)" = 3.11 || { echo "error: make lock freezes the Python 3.11 environment" >&2; exit 1; }
	# the freeze, marking the packages the Python 3.10 section (kept as it is) pins differently
	{ head -3 constraints.txt; $(PY) -m pip freeze --exclude-editable | awk -F== \
	    'NR == FNR { if (/python_version < "3.11"/) old[tolower($$1)] = 1; next } \
	     { print $$0 (tolower($$1) in old ? " ; python_version >= \"3.11\"" : "") }' constraints.txt - ; \
	  sed -n '/^# Python 3.10/,$$p' constraints.txt; } > constraints.new && mv constraints.new constraints.txt

clean-data:
	rm -rf data/tiny data/small data/workshop data/experiments

clean: clean-data
	rm -rf $(VENV) .uv-bootstrap
