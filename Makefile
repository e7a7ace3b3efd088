# Two commands: `make train` (the main job) and `make test` (every test). Both create .venv and install requirements.txt;
# `make test` and `make sweep` add requirements-sweep.txt (Ray Tune), which the sweep and its smoke test need.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
SWEEP_STAMP := $(VENV)/.installed-requirements-sweep

.PHONY: train test notebook bench solve sweep

$(STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

$(SWEEP_STAMP): $(STAMP) requirements-sweep.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-sweep.txt
	touch $(SWEEP_STAMP)

## Train HAPPO on the embedded simulator by executing Tennis.ipynb in place: checkpoints/, image/, runs/ and the notebook.
train: $(STAMP)
	TENNIS_PROGRESS=lines $(BIN)/papermill Tennis.ipynb Tennis.ipynb --log-output --no-progress-bar

## Every test: lint, unit tests (the notebook's resume and the Tune sweep included), and the notebook under nbval on a
## short training budget (outputs go to a scratch dir).
test: $(SWEEP_STAMP)
	$(BIN)/ruff check .
	TENNIS_EPISODES=1500 TENNIS_PROGRESS=lines TENNIS_OUTPUT_DIR=$$(mktemp -d) \
	    $(BIN)/python -m pytest -q tests Tennis.ipynb --nbval-lax --nbval-current-env --nbval-cell-timeout=600

## Open the notebook in the project's environment.
notebook: $(STAMP)
	$(BIN)/jupyter notebook Tennis.ipynb

## Simulator throughput.
bench: $(STAMP)
	$(BIN)/python bench/env_throughput.py

## Multi-seed training benchmark (see bench/solve.py --help).
solve: $(STAMP)
	$(BIN)/python bench/solve.py

## Hyperparameter sweep on Ray Tune, locally or on the cluster named by RAY_ADDRESS (see bench/sweep.py --help).
sweep: $(SWEEP_STAMP)
	$(BIN)/python bench/sweep.py
