"""Banc de l'apprentissage (issue #13, point 1) : deux nuits de courriers différents.

    .venv/bin/python -m preuves.apprentissage [--lettres 200] [--seuil 0.55] [--min-exemples 3]

Un registre SQLite neuf. Première nuit analysée par les règles seules, puis corrigée au
registre comme le ferait la secrétaire (preuves/jeu_apprentissage.py : ce qui est mal classé
est corrigé, ce qui est juste voit sa réponse validée). Seconde nuit, aucune lettre commune :
analysée par les règles seules et par les règles avec le classifieur ré-entraîné depuis le
registre. Il imprime, mesurés dans le même passage :

- la justesse (catégorie) de la seconde nuit, règles seules et avec apprentissage, et leur
  ratio ; la même chose pour l'urgence et la réponse attendue ;
- la durée de lecture des exemples au registre, de l'import de scikit-learn (une fois par
  processus) et de l'entraînement : elle dit si ré-entraîner à chaque relève reste raisonnable.

Sort en 1 si l'apprentissage ne fait pas mieux que les règles seules sur la catégorie. Les
durées dépendent de la machine ; rien n'est affirmé sur elles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from courrier.analyser import Analyseur, analyser_en_attente
from courrier.apprentissage import entrainer
from courrier.brouillons import rediger
from noyau.analyse import Analyse, Brouillon, Commune, CourrierALire
from preuves.jeu_apprentissage import LettreEtiquetee, corriger_comme_la_secretaire, deposer, nuits
from registre.apprentissage import exemples
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles

DEPART = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def _part(bons: int, total: int) -> str:
    return f"{bons}/{total} ({bons / total:.0%})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Banc de l'apprentissage des corrections.")
    p.add_argument("--lettres", type=int, default=200, help="lettres par nuit")
    p.add_argument("--seuil", type=float, default=0.55)
    p.add_argument("--min-exemples", type=int, default=3)
    args = p.parse_args(argv)

    moteur = MoteurRegles(charger_regles())
    crpa = charger_crpa()
    commune = Commune(nom="Saint-Aubin-sur-Loire", maire="Hélène Marchand")

    def horloge() -> datetime:
        return DEPART

    with tempfile.TemporaryDirectory(prefix="banc-apprentissage-") as dossier:
        registre = Registre.ouvrir(
            f"sqlite:///{Path(dossier) / 'registre.sqlite3'}", Path(dossier) / "donnees", horloge
        )

        def gabarits(courrier: CourrierALire, analyse: Analyse) -> list[Brouillon]:
            return rediger(courrier, analyse, commune, crpa, le=DEPART.date())

        premiere, seconde = nuits(args.lettres)
        nuit1 = deposer(registre, premiere)
        analyser_en_attente(registre, Analyseur(moteur, crpa, commune, horloge=horloge), 1)
        corriges = corriger_comme_la_secretaire(registre, nuit1, moteur.services(), gabarits)

        t0 = time.perf_counter()
        lus = exemples(registre)
        t1 = time.perf_counter()
        import sklearn.linear_model  # noqa: F401 — l'import, mesuré à part de l'entraînement

        t2 = time.perf_counter()
        classifieur = entrainer(lus, args.min_exemples, args.seuil)
        t3 = time.perf_counter()

        nuit2 = deposer(registre, seconde)
        appris = Analyseur(moteur, crpa, commune, horloge=horloge)
        appris.apprentissage = classifieur
        t4 = time.perf_counter()
        analyser_en_attente(registre, appris, 1)
        t5 = time.perf_counter()
        lignes = {c.numero: c for c in registre.courriers() if c.numero in nuit2}
        registre.fermer()

    def compter(champ: str, avec: bool) -> int:
        bons = 0
        for numero, x in nuit2.items():
            bons += _juste(champ, x, lignes[numero] if avec else moteur.analyser(x.courrier))
        return bons

    n = len(nuit2)
    print(f"Première nuit : {len(nuit1)} lettres, {corriges} corrigées par la secrétaire.")
    print(f"Exemples lus au registre : {len(lus)} en {t1 - t0:.3f} s.")
    print(f"Import de scikit-learn : {t2 - t1:.2f} s (une fois par processus).")
    champs = len(classifieur.estimateurs) if classifieur else 0
    print(f"Entraînement : {t3 - t2:.3f} s ({champs} champs).")
    print(f"Analyse de la seconde nuit avec apprentissage : {t5 - t4:.2f} s pour {n} lettres.")
    sortie = 0
    for champ in ("categorie", "urgence", "reponse_attendue"):
        sans, avec = compter(champ, False), compter(champ, True)
        ratio = f"{avec / sans:.2f}" if sans else "∞"
        print(
            f"Justesse {champ} (seconde nuit) : règles seules {_part(sans, n)}, "
            f"avec apprentissage {_part(avec, n)}, ratio {ratio}"
        )
        if champ == "categorie" and avec <= sans:
            sortie = 1
    return sortie


def _juste(champ: str, x: LettreEtiquetee, resultat: object) -> bool:
    valeur = getattr(resultat, champ)
    attendu = {
        "categorie": x.sujet.categorie,
        "urgence": x.sujet.urgence,
        "reponse_attendue": x.sujet.reponse_attendue,
    }[champ]
    return bool(valeur == attendu) if champ != "reponse_attendue" else bool(valeur) is attendu


if __name__ == "__main__":
    sys.exit(main())
