# `make run` starts the gateway on the embedded default; `make test` runs every test.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench clean

# llama-cpp-python compiles llama.cpp on install. Its default -march=native build uses AMX tile
# instructions on CPUs that advertise them, and virtual machines that advertise AMX without enabling
# it (these ones) kill the process with SIGILL on the first matrix product: build for AVX2 instead.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,local,local-embeddings,otel,s3]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/llmrelay serve $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python .ci/sizes.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
