# The two commands a new machine needs (see README):
#   make demo   set everything up, build the synthetic demo case, scan it
#   make test   set everything up and run the test suite
VENV   ?= .venv
PYTHON ?= python3
EXTRAS ?= test,video,vpdq,containers,cluster,case,pst
STAMP  := $(VENV)/.installed

.PHONY: demo test setup system-deps bench clean

demo: setup
	$(VENV)/bin/triage demo run examples/demo-case

test: setup
	$(VENV)/bin/pytest -q

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[$(EXTRAS)]'
	bash scripts/install-pyewf-zlib.sh $(VENV)
	touch $(STAMP)

bench: setup
	$(VENV)/bin/pip install -q -e '.[$(EXTRAS),bench]'
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) examples/demo-case build *.egg-info
