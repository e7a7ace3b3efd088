# Two commands: `make train` (the main job) and `make test` (every test). Both create .venv and install requirements.txt;
# `make test` and `make sweep` add requirements-sweep.txt (Ray Tune), which the sweep and its smoke test need.
# `make test` also makes .venv-unity: requirements.txt plus the course's unityagents 0.4 client by the README's recipe
# (UNITY_CLIENT_DEPS, then unityagents without its unsatisfiable pins), to drive the headless build through it.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
SWEEP_STAMP := $(VENV)/.installed-requirements-sweep
MUTATION_STAMP := $(VENV)/.installed-requirements-mutation
UNITY_VENV := .venv-unity
UNITY_BIN := $(UNITY_VENV)/bin
UNITY_STAMP := $(UNITY_VENV)/.installed-unityagents
UNITY_CLIENT_DEPS := grpcio==1.85.3 protobuf==3.20.3 pillow==13.0.0 numpy==1.26.4
PIP_QUIET := --quiet --disable-pip-version-check

# papermill's bound on each notebook cell: the training's cap (TENNIS_MINUTES) and an hour (settings.py)
CELL_TIMEOUT = $(BIN)/python -c 'import settings; print(settings.cell_timeout_seconds())'

.PHONY: train test notebook bench solve sweep headless-build evaluate mutation digests

$(STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(SWEEP_STAMP): $(STAMP) requirements-sweep.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-sweep.txt
	touch $(SWEEP_STAMP)

## Train HAPPO on the embedded simulator by executing Tennis.ipynb in place: checkpoints/, image/, runs/ and the notebook.
train: $(STAMP)
	mkdir -p runs  # papermill saves its output as it goes: into runs/, then over Tennis.ipynb once it has run through
	bound=$$($(CELL_TIMEOUT)) && TENNIS_PROGRESS=lines $(BIN)/papermill Tennis.ipynb runs/Tennis.ipynb.partial \
	    --log-output --no-progress-bar --execution-timeout $$bound && mv runs/Tennis.ipynb.partial Tennis.ipynb
	$(BIN)/python bench/train_summary.py

$(MUTATION_STAMP): $(STAMP) requirements-mutation.txt
	$(BIN)/pip install $(PIP_QUIET) -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

## Mutation testing (about 15 minutes on 2 cores; not part of make test): the review's breakages of the learning code
## (tools/review_mutations.py), then mutmut over the learning, checkpoint and resume code against the fast tests;
## writes results/review_mutations.json and results/mutation.json (tools/mutation_report.py).
mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/review_mutations.py --out results/review_mutations.json
	rm -rf mutants
	set -f; OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2 \
	    $$($(BIN)/python tools/mutation_report.py --selection)  # set -f: the names' * and ? are mutmut's, not the shell's
	$(BIN)/python tools/mutation_report.py --out results/mutation.json

$(UNITY_STAMP): requirements.txt pyproject.toml
	python3 -m venv $(UNITY_VENV)
	$(UNITY_BIN)/pip install $(PIP_QUIET) -r requirements.txt
	$(UNITY_BIN)/pip install $(PIP_QUIET) $(UNITY_CLIENT_DEPS)
	$(UNITY_BIN)/pip install $(PIP_QUIET) --no-deps unityagents==0.4.0
	$(UNITY_BIN)/pip install $(PIP_QUIET) --no-deps -e .
	touch $(UNITY_STAMP)

## Evaluate and watch the shipped agent (checkpoints/) without training; writes only runs/evaluate/.
evaluate: $(STAMP)
	mkdir -p runs/evaluate
	bound=$$($(CELL_TIMEOUT)) && TENNIS_TRAIN=0 TENNIS_PROGRESS=lines TENNIS_OUTPUT_DIR=runs/evaluate \
	    $(BIN)/papermill Tennis.ipynb runs/evaluate/Tennis.ipynb --log-output --no-progress-bar --execution-timeout $$bound

## Every test: lint, unit tests (the notebook's resume and the Tune sweep included), the notebook under nbval on a
## short training budget (outputs go to a scratch dir), then the real unityagents client against the headless build
## (tests_unity/, in .venv-unity, with its own numba cache: that environment has numpy 1.26).
test: $(SWEEP_STAMP) $(UNITY_STAMP)
	$(BIN)/ruff check .
	TENNIS_EPISODES=1500 TENNIS_PROGRESS=lines TENNIS_OUTPUT_DIR=$$(mktemp -d) \
	    $(BIN)/python -m pytest -q -m "not slow_digest" tests Tennis.ipynb --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=600
	NUMBA_CACHE_DIR=$(UNITY_VENV)/numba-cache $(UNITY_BIN)/python -m pytest -q -W ignore::DeprecationWarning tests_unity

## The behaviour digests that make test leaves out (MADDPG stamps of 384 and 768 gradient steps: about 15 minutes)
digests: $(STAMP)
	$(BIN)/python -m pytest -q -m slow_digest tests/test_behaviour_digest.py

## The headless Tennis build for unityagents: build/Tennis_Linux/Tennis.x86_64 (run with .venv-unity's Python).
headless-build: $(UNITY_STAMP)
	$(UNITY_BIN)/tennis-headless-build --write build/Tennis_Linux

## Open the notebook in the project's environment.
notebook: $(STAMP)
	$(BIN)/jupyter notebook Tennis.ipynb

## Simulator throughput.
bench: $(STAMP)
	$(BIN)/python bench/env_throughput.py

## Multi-seed training benchmark (see bench/solve.py --help).
solve: $(STAMP)
	$(BIN)/python bench/solve.py

## Hyperparameter sweep on Ray Tune on this machine (see bench/sweep.py --help; README: a cluster, as a Ray job).
sweep: $(SWEEP_STAMP)
	$(BIN)/python bench/sweep.py
