# The README's two commands: `make demo` and `make test`. Both create .venv and install the
# project with its extras first, so they work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
# One BLAS thread: minigrad's models are small, and on a 2-core machine OpenBLAS's extra thread
# spins after every matrix product and slows what runs next (10x for the demo's CNN when busy).
export OPENBLAS_NUM_THREADS ?= 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-quick lint format graphviz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,examples]'
	touch $(STAMP)

# Rendering needs Graphviz's `dot` binary, which pip cannot install.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "note: Graphviz 'dot' is missing; drawing graphs needs it:"; \
	    echo "  apt-get install graphviz | brew install graphviz | conda install -c conda-forge graphviz"; \
	  fi; }

demo: $(STAMP) graphviz
	$(BIN)/python -m minigrad.demo

test: $(STAMP) graphviz
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_hessian.py
	$(BIN)/python benchmarks/bench_ggn.py
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_cnn.py
	$(BIN)/python benchmarks/bench_lstm.py
	$(BIN)/python benchmarks/bench_inplace.py
	$(BIN)/python benchmarks/bench_dataloader.py
	$(BIN)/python benchmarks/bench_spectrum.py
	$(BIN)/python benchmarks/bench_landscape.py
	$(BIN)/python benchmarks/bench_compile.py
	$(BIN)/python benchmarks/bench_vmap.py

# The ratios the performance work is measured by, in about a minute (each script's --quick).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/bench_cnn.py --quick
	$(BIN)/python benchmarks/bench_hessian.py --quick
	$(BIN)/python benchmarks/bench_mlp.py --quick
	$(BIN)/python benchmarks/bench_overhead.py --quick
	$(BIN)/python benchmarks/bench_compile.py --quick

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache demo-output
