# Les deux commandes du README : `make demo` et `make test`. Tout s'installe au premier appel.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test preuves paquets-demo paquets-test venv lint clean

demo: paquets-demo venv
	$(BIN)/courrier demo

test: paquets-test venv lint
	bash tests/lancer.sh

# Les 50 nuits tuées au hasard (la partie rapide tourne déjà dans `make test`).
preuves: paquets-test venv
	.venv/bin/python -m preuves.pannes --essais 50 --graine 2026

paquets-demo:
	@bash deploiement/installer-paquets.sh demo

paquets-test:
	@bash deploiement/installer-paquets.sh test

venv: $(VENV)/.installe

$(VENV)/.installe: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-donnees .mypy_cache .ruff_cache .pytest_cache
