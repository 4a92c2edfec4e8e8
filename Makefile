# Les deux commandes du README : `make demo` et `make test`. Tout s'installe au premier appel.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-decale preuves bench bench-recherche bench-apprentissage charge paquets-demo paquets-test venv lint clean

demo: paquets-demo venv
	$(BIN)/courrier demo

test: paquets-test venv lint
	bash tests/lancer.sh

# Toute la suite avec la date avancée d'un an : aucun test ne doit dépendre du jour où il tourne.
# DECALAGE=-200 pour un autre décalage (en jours). Le décalage se fait dans chaque programme
# Python du venv (tests/decalage/, time-machine) ; libfaketime, qui décalait aussi l'horloge
# monotone, faisait durer un an chaque attente bornée entre fils (Event.wait).
test-decale: paquets-test venv
	TEMPS_DECALE_JOURS="$${DECALAGE:-366}" bash tests/decalage/lancer.sh

# Les 50 nuits tuées au hasard, 4 nuits contre un LLM en panne, puis le jeu hostile et tout le
# corpus partagé dans une même relève (les parties rapides tournent déjà dans `make test`).
preuves: paquets-test venv
	.venv/bin/python -m preuves.pannes --essais 50 --graine 2026
	.venv/bin/python -m preuves.llm --nuits 4
	OMP_THREAD_LIMIT=1 .venv/bin/python -m preuves.hostiles --corpus $${COURRIER_CORPUS:-../shared/corpus}

# Le banc de performance (issue #6) : une nuit de 1 000 éléments, plus les paliers 250 et 500.
# Imprime les ratios et leurs cibles, n'affirme rien. BANC='--echelle 250' pour un essai court.
bench: paquets-test venv
	OMP_THREAD_LIMIT=1 .venv/bin/python -m preuves.bench $(BANC)

# Le banc de la recherche (issue #10) : 100 000 courriers, plein texte contre l'ancien LIKE, sur
# SQLite puis PostgreSQL (grappe privée). RECHERCHE='--nombre 10000' pour un essai court.
bench-recherche: paquets-test venv
	.venv/bin/python -m preuves.recherche --postgres auto $(RECHERCHE)

# Le banc de l'apprentissage (issue #13) : deux nuits de lettres différentes ; justesse de la
# seconde, règles seules contre règles + classifieur appris des corrections de la première,
# et durée de l'entraînement. APPRENTISSAGE='--lettres 80' pour un essai court.
bench-apprentissage: venv
	.venv/bin/python -m preuves.apprentissage $(APPRENTISSAGE)

# Le banc de charge (issue #14) : 50 secrétaires sur la page web pendant une relève de 300
# éléments, 60 s sur SQLite puis sur PostgreSQL. Imprime latences médiane et p95, erreurs et
# bilan du registre ; sort en erreur si une requête échoue ou si un courrier manque.
# CHARGE='--utilisateurs 10 --duree 15' pour un essai court.
charge: paquets-test venv
	OMP_THREAD_LIMIT=1 .venv/bin/python -m preuves.charge $(CHARGE)

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
	rm -rf $(VENV) demo-donnees .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache
