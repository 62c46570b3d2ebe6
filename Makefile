# Two set-up commands: `make run` and `make test`. Both create .venv on first use and skip it after.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BRIAN2_CACHE_DIR := $(CURDIR)/.cache/brian2
export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba
export MPLBACKEND := Agg

.PHONY: install warm run test lint bench mutation clean lava-fixtures interop

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m chipsim.warm
	$(BIN)/python -m chipsim.aot
	touch $(STAMP)

# Numba's cache for every profile, then the same kernels compiled ahead of time (chipsim/_aot: a one-sample
# command then imports no Numba); run it again after changing chipsim's kernels.
warm: install
	$(BIN)/python -m chipsim.warm
	$(BIN)/python -m chipsim.aot

run: install
	$(BIN)/harness run --profile loihi.yaml --method spikefit --out runs/default

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Side venvs with each foreign framework pinned (.venv-interop/, ignored), then the interop fixtures:
# each framework's own MLP/CNN export and run, and chipfit's exports run in each framework's importer.
# Needs PyPI; make test does not (the fixtures are committed).
INTEROP := .venv-interop
interop: install
	bash tools/interop/venvs.sh
	for fw in snntorch norse sinabs rockpool spyx; do $(INTEROP)/$$fw/bin/python tools/interop/make_fixtures.py $$fw; done
	$(BIN)/python tools/interop/chipfit_exports.py
	for fw in snntorch norse sinabs rockpool spyx; do $(INTEROP)/$$fw/bin/python tools/interop/run_exports.py $$fw; done

bench: install
	$(BIN)/python benchmarks/bench_chipsim.py

# Mutation testing of the core modules (not part of `make test`; see docs/testing.md). One module at a time,
# each with the fast tests that cover it; MODULES="chipsim/cost.py ..." runs a subset.
mutation: install
	nice -n 10 $(BIN)/python tests/mutation.py $(MUTATION_ARGS) $(MODULES)

clean:
	rm -rf $(VENV) .cache runs chipsim/_aot

# Lava's bit-accurate Loihi model, the reference of tests/test_lava_fixtures.py. lava-nc 0.10.0 needs
# Python < 3.11: a side venv (ignored), never made by `make test`; the fixtures it writes are committed.
LAVA_PYTHON ?= $(shell command -v python3.10 || echo /root/.pyenv/versions/3.10.13/bin/python)
LAVA_VENV := .lava-venv

$(LAVA_VENV)/.installed:
	test -x $(LAVA_VENV)/bin/python || $(LAVA_PYTHON) -m venv $(LAVA_VENV)
	$(LAVA_VENV)/bin/python -m pip install -q --disable-pip-version-check lava-nc==0.10.0
	touch $@

lava-fixtures: $(LAVA_VENV)/.installed
	$(LAVA_VENV)/bin/python tests/fixtures/lava/generate.py tests/fixtures/lava
