# nianbao: two commands on a fresh clone with only python3 and make.
#   make demo   set up, serve the bundled demo site on 127.0.0.1, crawl it, show the archive
#   make test   set up and run the whole test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/nianbao demo

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) nianbao-data .pytest_cache *.egg-info
