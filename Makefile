# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORE ?= .verbatim/store
DOCS ?= seeds
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run index ask test test-fast eval bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, from the machine's CPU build: sentence-transformers would
# otherwise pull a multi-GB CUDA build.
$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[ui]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[ui,st,test,milvus]'
	touch $@

## Build (or update) the store of the bundled documents; a no-op when nothing changed.
index: $(VENV)/.app
	$(BIN)/verbatim index $(DOCS) --store $(STORE)

## Start the app on the bundled documents.
run: index
	@if $(BIN)/python -c "import ui.app" 2>/dev/null; then \
		$(BIN)/verbatim serve --store $(STORE) --host $(HOST) --port $(PORT); \
	else \
		$(BIN)/verbatim ask --store $(STORE); \
	fi

ask: index
	$(BIN)/verbatim ask --store $(STORE)

## Install what the tests need (Python packages; Chromium for browser tests) and run them.
test: $(VENV)/.test
	@dpkg -s chromium chromium-driver fonts-noto-cjk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null) || \
		echo "note: could not install chromium; browser tests will be skipped"
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.test
	$(BIN)/python -m pytest -q -m "not slow and not browser"

eval: index
	$(BIN)/verbatim eval tests/eval/dev.jsonl --store $(STORE)

clean:
	rm -rf .verbatim .pytest_cache
