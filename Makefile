# The two commands of the README: `make verify` (the main job) and `make test` (the tests).
# Each builds .venv by itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch is pinned for set-up speed on these machines; users may install any torch.
TORCH_PIN ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: venv test verify lint bench figures docs install-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[all,test,peers,distributed]"
	touch $(STAMP)

# The documentation's own requirements (Sphinx, numpydoc, sphinx-gallery, the theme, MyST).
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

verify: $(STAMP)
	$(BIN)/dualreg verify

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/penalties.py

figures: $(STAMP)
	$(BIN)/dualreg figures

# The site into docs/_build/html, warnings as errors, every gallery example executed.
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html -j 2 docs docs/_build/html

# The wheel and sdist built, the wheel installed with no extras in a fresh venv and used.
install-check:
	scripts/check_install.sh $(PYTHON)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache docs/_build docs/auto_examples docs/generated docs/proofs docs/theorems.md
