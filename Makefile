# nianbao: two commands on a fresh clone with only python3 and make.
#   make demo   set up, serve the bundled demo site on 127.0.0.1, crawl it, show the archive
#   make test   set up (Python packages and the system packages below), lint, type-check and
#               run the whole suite
#   make bench  the benchmarks in bench/ (figures go to BENCHMARKS.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SYSTEM_STAMP := $(VENV)/.system-packages-stamp

# Debian packages the project uses: antiword/catdoc read DOC and WPS attachments, chromium
# runs the browser tests of the web UI, and poppler-utils' pdftotext (with poppler-data's CJK
# maps) checks in the tests that the demo's PDFs read back with a second, independent extractor
# and renders scanned PDFs for OCR; tesseract-ocr with its Simplified Chinese model reads scanned
# reports (images, PDFs without a text layer); fonts-wqy-zenhei draws the demo's scanned report;
# fonts-noto-cjk gives the browser tests' Chromium a real CJK font, so their screenshots show the
# web app's Chinese as characters, not boxes (tests/web/test_walk.py checks it).
SYSTEM_PACKAGES := antiword catdoc chromium poppler-utils poppler-data tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-zenhei fonts-noto-cjk

.PHONY: setup system-packages demo check test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-packages: $(SYSTEM_STAMP)

$(SYSTEM_STAMP): Makefile | $(STAMP)
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "could not install:$$missing (needs apt-get as root or sudo)"; exit 1; }; \
	fi
	touch $(SYSTEM_STAMP)

demo: $(STAMP)
	$(BIN)/nianbao demo

# The house rules first (lint, types; the import contract is tests/test_architecture.py), then
# the suite.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) $(SYSTEM_STAMP) check
	$(BIN)/python -m pytest

# nginx serves the static site of bench/crawl.py.
BENCH_PACKAGES := nginx-light

bench: $(STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(BENCH_PACKAGES) >/dev/null; }
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/recrawl.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/crawl.py
	$(BIN)/python -m bench.ocr

clean:
	rm -rf $(VENV) nianbao-data .pytest_cache *.egg-info
