# Fresh machine: `make demo` and `make test` each set everything up themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-lock.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-all venv lint clean notebooks

$(STAMP): requirements-lock.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-lock.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/symnet demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# Re-execute the notebooks in place with their full (interactive) settings.
notebooks: $(STAMP)
	$(PY) -c "import nbformat, pathlib; from nbclient import NotebookClient; \
	[(nb := nbformat.read(p, as_version=4), NotebookClient(nb, timeout=900, kernel_name='python3', \
	resources={'metadata': {'path': 'notebooks'}}).execute(), nbformat.write(nb, p)) \
	for p in sorted(pathlib.Path('notebooks').glob('*.ipynb'))]"
