# Two commands: `make run` (app on the embedded default) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PORT ?= 8501

.PHONY: run test test-fast lint format bench teacher clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt requirements-nodeps.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

$(TEST_STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(RUN_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m streamlit run Home.py --server.port $(PORT) --server.address 127.0.0.1

test: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest

# The inner loop: lint, then everything except the browser suite and tests marked slow.
test-fast: $(TEST_STAMP)
	$(PY) -m ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not browser and not slow" -q

lint: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(TEST_STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# bench.servers starts `transformers serve` (transformers[serving] is in requirements-dev.txt).
bench: $(TEST_STAMP)
	$(PY) -m bench.compression
	$(PY) -m bench.embedded
	$(PY) -m bench.eval
	$(PY) -m bench.assess
	HF_HUB_OFFLINE=1 $(PY) -m bench.servers

teacher: $(RUN_STAMP)
	$(PY) -m slm_lib.tiny.train_teacher

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
