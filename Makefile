# tinyq: two entry points on a fresh Debian machine.
#   make demo   install everything, then run the whole pipeline on the built-in model
#   make test   install everything, then run the test suite
VENV   ?= .venv
PYTHON ?= python3
APT_PACKAGES = gcc make python3 python3-venv gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake ninja-build
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: setup system python demo test clean oracle-check

setup: system python

# Cross compiler, newlib, QEMU, CMake + Ninja and Python's venv from Debian; skipped when already present.
system:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
	    && [ -d /usr/lib/arm-none-eabi/newlib ] && command -v cc >/dev/null \
	    && command -v cmake >/dev/null && command -v ninja >/dev/null \
	    && $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	  echo "system packages: present"; \
	else \
	  echo "system packages: installing $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

python: $(VENV)/.installed

# The test environment is exactly constraints.txt: CI and every machine resolve the same versions.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# --force: a second `make demo` replaces the previous demo's files in out/demo (and only those).
demo: setup
	$(VENV)/bin/tinyq demo --force

test: setup
	$(VENV)/bin/pytest -q -n 2 $(PYTEST_ARGS)

# Try another TFLM nightly as the golden model: make oracle-check NIGHTLY=0.dev2026...
oracle-check: setup
	$(VENV)/bin/python -m tinyq.oracle_check $(NIGHTLY)

clean:
	rm -rf $(VENV) build out .pytest_cache
