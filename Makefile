# Two commands matter: `make demo` and `make test`. Both create .venv on first use.
# `make test` is the one-environment developer loop (the Airflow pyproject.toml resolves to; the
# emulator's own tests, emulator/tests, run there too);
# `make matrix` runs noxfile.py: the built wheel against every supported Airflow minor.
# Python 3.13 (pyenv's, as the CI image has it; else python3.13 on PATH; else python3), the Python
# of the matrix's newest release: make matrix then skips what make test already ran on that pair.
PYTHON ?= $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.13.*/bin/python3.13)),$(shell command -v python3.13 || command -v python3))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint typecheck unit demo bench e2e matrix deployment clean

venv: $(STAMP)

# Both distributions of the clone: the emulator (emulator/, its own pyproject) and the provider.
$(STAMP): pyproject.toml emulator/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e "./emulator[test]" -e ".[test]"
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check airflow_provider_modelarts tests example_dags benchmarks scripts noxfile.py emulator
	$(BIN)/ruff format --check airflow_provider_modelarts tests example_dags benchmarks scripts noxfile.py emulator

typecheck: venv
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(or $(PYTEST_WORKERS),4) --dist loadgroup

# `make demo AUTH=metadata` (or password, idp, default_chain): the connection's auth type (default aksk).
demo: venv
	$(BIN)/python scripts/demo.py $(if $(AUTH),--auth $(AUTH))

bench: venv
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py

e2e: venv
	$(BIN)/python -m pip install --quiet -e ".[e2e]"
	$(BIN)/python scripts/e2e.py

# Sessions and their Airflow/Python pairs: `$(BIN)/nox -l`; one of them: `$(BIN)/nox -s "compat(3.0)"`.
matrix: venv
	$(BIN)/python -m pip install --quiet -e ".[matrix]"
	$(BIN)/nox

# The create operator's promises in a real deployment (api-server, scheduler, dag-processor, triggerer;
# kill -9, retries, Clear, triggerer restart, Mark failed) on the floor and the newest Airflow, each in
# its own nox environment with the built wheel. `make matrix` runs the same script inside compat(3.0)/(3.3).
deployment: venv
	$(BIN)/python -m pip install --quiet -e ".[matrix]"
	$(BIN)/nox -s "deployment(3.0)" "deployment(3.3)"

clean:
	rm -rf $(VENV) .airflow-demo artifacts .nox dist .e2e
