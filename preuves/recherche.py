"""Banc de la recherche plein texte (issue #10, point 6) : 100 000 courriers, FTS contre LIKE.

    .venv/bin/python -m preuves.recherche [--nombre 100000] [--postgres URL|auto] [--graine 2026]

Deux registres neufs par base : l'un au schéma d'avant la recherche plein texte (la migration
qui précède 20261205_0009 ; recherche en LIKE telle qu'elle était), l'autre au schéma courant
(index FTS5 ou tsvector tenu par déclencheurs). Les mêmes courriers y sont insérés en masse
(INSERT groupés, sans passer par l'enregistrement scellé, qui n'est pas ce qu'on mesure), textes
français variés et reproductibles. Il imprime, mesurés dans le même passage :

- le coût des déclencheurs à l'insertion : durée avec index ÷ durée sans (ratio) ;
- la durée médiane d'une recherche de la page web (compte + première page de 50) sur une liste
  fixe de saisies : plein texte ÷ LIKE d'avant (ratio) ;
- une vérification : des mots plantés dans des courriers connus (accents et casse mêlés, dans le
  seul texte lu, ou un numéro chrono) sont retrouvés exactement. Elle seule fait sortir en 1.

`--postgres auto` démarre une grappe PostgreSQL privée (celle des tests) ; sans `--postgres`,
SQLite seul. Les durées dépendent de la machine et de ce qui tourne à côté ; rien n'est affirmé
sur elles.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    and_,
    create_engine,
    func,
    insert,
    or_,
    select,
    text,
)

from registre.base import config_alembic, creer_engine, mettre_a_niveau
from registre.recherche import Filtres, pour_export, rechercher
from registre.tables import Courrier

PLEIN_TEXTE = "20261205_0009"  # la migration qui ajoute la recherche plein texte
PAR_LOT = 2_000


def _liste(texte: str) -> tuple[str, ...]:
    return tuple(texte.split())


# Vocabulaire d'un courrier de mairie ; les mots plantés (voir PLANTES) n'y figurent pas.
MOTS = _liste(
    "demande dossier mairie commune habitant rue avenue place quartier travaux voirie trottoir "
    "chaussée éclairage lampadaire stationnement véhicule gênant bruit nuisances voisinage "
    "arbre élagage haie déchets encombrants collecte poubelles tri recyclage eau assainissement "
    "fuite canalisation compteur facture paiement délai réclamation signalement urgence "
    "permis construire déclaration préalable urbanisme cadastre parcelle terrain clôture "
    "façade toiture extension garage piscine abri jardin subvention association sportive "
    "culturelle festival fête salle réservation location matériel tables chaises "
    "cantine restauration scolaire périscolaire garderie inscription enfant famille crèche "
    "état civil naissance mariage décès acte copie extrait livret carte identité passeport "
    "élections liste électorale procuration recensement attestation domicile justificatif "
    "cimetière concession sépulture funéraire logement social aide solidarité personne âgée "
    "handicap accessibilité transport navette bus horaires marché forain commerce terrasse "
    "autorisation arrêté municipal conseil délibération budget impôts taxe foncière "
    "madame monsieur maire adjoint secrétaire service technique police municipale gendarmerie "
    "préfecture département région sous-préfecture courrier lettre réponse rendez-vous "
    "veuillez agréer salutations distinguées respectueuses remercie attente favorable "
    "objet suite entretien téléphonique précédent envoi pièce jointe ci-joint copie "
    "semaine mois année lundi mardi mercredi jeudi vendredi samedi dimanche matin soir "
    "problème situation difficile grave important rapidement possible nécessaire "
    "chemin rural sentier randonnée forêt rivière pont inondation orage tempête neige "
    "chien chat animal errant divagation fourrière déjections propreté tags graffiti "
    "vitesse excessive ralentisseur panneau signalisation feu carrefour sécurité piétons"
)
NOMS = _liste(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefèvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefebvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu"
)
PRENOMS = _liste("Jean Marie Françoise Hélène Michel Nathalie Stéphane Chloé Léa Éric Gaëlle Noël")
OBJETS = (
    "Demande de {0}",
    "Réclamation : {0} {1}",
    "Signalement {0} rue {2}",
    "Dossier {0} et {1}",
    "Courrier relatif à {0}",
    "{0} — demande urgente",
)

# Mots plantés : (mot tel qu'écrit dans le courrier, où, tous les combien), cherchés par
# VERIFICATIONS sous une autre graphie (accents, casse).
PLANTES: dict[str, tuple[str, int, int]] = {
    "kowalczyk": ("KOWALCZYK", 997, 13),  # dans le texte lu seulement
    "ecole": ("École", 211, 7),  # dans l'objet
    "ecoles": ("ecoles", 389, 5),  # sans accent, dans le texte lu
    "zephyrin": ("Zéphyrin", 1_009, 3),  # dans l'expéditeur
}
VERIFICATIONS: dict[str, tuple[str, ...]] = {
    "Kowalczyk": ("kowalczyk",),
    "kowalczyk ADAM": ("kowalczyk",),
    "ÉCOLE": ("ecole", "ecoles"),  # préfixe : « école » trouve aussi « écoles »
    "écoles": ("ecoles",),  # mais « écoles » ne trouve pas « école »
    "zephyrin": ("zephyrin",),
}
SAISIES = (
    "demande",
    "travaux voirie",
    "ecole",
    "Kowalczyk",
    "stationnement gênant",
    "subvention association",
    "lampadaire",
    "procuration élections",
    "inondation pont",
    "{numero}",
)


def _plante(i: int, cle: str) -> bool:
    _, tous, reste = PLANTES[cle]
    return i % tous == reste


def _phrase(hasard: random.Random, poids: list[float], n: int) -> str:
    return " ".join(hasard.choices(MOTS, poids, k=n)).capitalize() + "."


def courriers(nombre: int, graine: int) -> Iterator[dict[str, Any]]:
    """Les lignes, reproductibles ; fréquence des mots en 1/rang (comme une langue)."""
    hasard = random.Random(graine)
    poids = [1 / (r + 1) for r in range(len(MOTS))]
    debut = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    for i in range(nombre):
        recu = debut + timedelta(minutes=5 * i)
        nom = f"{hasard.choice(PRENOMS)} {hasard.choice(NOMS)}"
        if _plante(i, "zephyrin"):
            nom = f"{PLANTES['zephyrin'][0]} {hasard.choice(NOMS)}"
        objet = hasard.choice(OBJETS).format(*hasard.choices(MOTS, poids, k=3))
        if _plante(i, "ecole"):
            objet = f"{objet} ({PLANTES['ecole'][0]} du bourg)"
        phrases = [
            _phrase(hasard, poids, hasard.randint(6, 18)) for _ in range(hasard.randint(4, 12))
        ]
        if _plante(i, "kowalczyk"):
            phrases.insert(1, f"Je soussigné {PLANTES['kowalczyk'][0]} Adam, demeurant ici.")
        if _plante(i, "ecoles"):
            phrases.append(f"Les {PLANTES['ecoles'][0]} du secteur sont concernées.")
        yield {
            "numero": numero(i),
            "annee": 2026 + i // 99_999,
            "rang": i % 99_999 + 1,
            "canal": "email" if i % 5 else "scan",
            "source": "banc",
            "recu_le": recu,
            "enregistre_le": recu,
            "expediteur": nom,
            "expediteur_adresse": f"usager{i}@commune.example",
            "objet": objet,
            "empreinte": f"{i:064x}",
            "taille": 1_000 + i,
            "statut": "analyse",
            "texte": " ".join(phrases),
            "resume": _phrase(hasard, poids, 12),
            "categorie": hasard.choice(("voirie", "urbanisme", "social", "scolaire", "autre")),
        }


def numero(i: int) -> str:
    return f"{2026 + i // 99_999}-{i % 99_999 + 1:05d}"


def attendus(nombre: int) -> dict[str, set[str]]:
    """Pour chaque vérification, les numéros qui doivent sortir (d'après les seuls plantages)."""
    resultat = {
        saisie: {numero(i) for i in range(nombre) if any(_plante(i, c) for c in cles)}
        for saisie, cles in VERIFICATIONS.items()
    }
    resultat[numero(nombre // 2)] = {numero(nombre // 2)}
    return resultat


def remplir(engine: Engine, nombre: int, graine: int) -> float:
    """Insère les courriers par lots ; rend la durée en secondes."""
    lignes = courriers(nombre, graine)
    # La table telle qu'elle est dans cette base (et non le modèle) : la base « d'avant » n'a
    # pas les colonnes ajoutées par les migrations suivantes, que le modèle remplirait.
    table = Table("courriers", MetaData(), autoload_with=engine)
    defauts = {
        col.name: col.default.arg
        for col in Courrier.__table__.columns
        if col.name in table.c and col.default is not None and col.default.is_scalar
    }
    debut = time.perf_counter()
    while lot := [defauts | ligne for _, ligne in zip(range(PAR_LOT), lignes, strict=False)]:
        with engine.begin() as connexion:
            connexion.execute(insert(table), lot)
    duree = time.perf_counter() - debut
    with engine.begin() as connexion:
        connexion.execute(text("ANALYZE"))
    return duree


def _like(colonne: Any, mot: str) -> Any:
    echappe = mot.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(colonne).like(f"%{echappe}%", escape="\\")


def rechercher_like(engine: Engine, saisie: str) -> list[str]:
    """La recherche d'avant (registre/recherche.py avant 20261205_0009) : chaque mot en LIKE
    sur cinq colonnes, compte puis première page de lignes entières, le plus récent d'abord.

    Sur la table telle qu'elle est dans la base d'avant (le modèle d'aujourd'hui a des colonnes
    qu'elle n'a pas) ; le banc n'a pas de brouillons, que l'ancienne page chargeait aussi."""
    c = Table("courriers", MetaData(), autoload_with=engine).c
    conds = [
        or_(*(_like(col, mot) for col in (c.objet, c.expediteur, c.resume, c.texte, c.numero)))
        for mot in saisie.split()[:10]
    ]
    with engine.connect() as connexion:
        connexion.execute(select(func.count(c.id)).where(and_(*conds))).scalar_one()
        requete = select(*c).where(and_(*conds)).order_by(c.annee.desc(), c.rang.desc()).limit(50)
        return [ligne.numero for ligne in connexion.execute(requete)]


def rechercher_fts(engine: Engine, saisie: str) -> list[str]:
    return [c.numero for c in rechercher(engine, Filtres(texte=saisie)).lignes]


def trouves(engine: Engine, saisie: str) -> set[str]:
    """Tous les numéros trouvés par la recherche plein texte (ce qu'exporterait la page)."""
    return {c.numero for c in pour_export(engine, Filtres(texte=saisie))}


def durees_ms(
    chercher: Callable[[Engine, str], list[str]], engine: Engine, saisies: list[str], tours: int
) -> dict[str, list[float]]:
    durees: dict[str, list[float]] = {saisie: [] for saisie in saisies}
    for _ in range(tours):
        for saisie in saisies:
            debut = time.perf_counter()
            chercher(engine, saisie)
            durees[saisie].append((time.perf_counter() - debut) * 1000)
    return durees


@dataclass
class Mesure:
    base: str
    nombre: int
    insertion_avant_s: float = 0.0
    insertion_fts_s: float = 0.0
    like_ms: float = 0.0
    fts_ms: float = 0.0
    # saisie -> (médiane LIKE, médiane plein texte), en ms
    par_saisie: dict[str, tuple[float, float]] = field(default_factory=dict)
    erreurs: list[str] = field(default_factory=list)


def mesurer(
    url_avant: str, url_fts: str, base: str, nombre: int, graine: int, tours: int
) -> Mesure:
    mesure = Mesure(base, nombre)
    avant = creer_engine(url_avant)
    fts = creer_engine(url_fts)
    try:
        config = config_alembic(avant)
        # Le schéma juste avant la recherche plein texte, quelle que soit la chaîne des
        # migrations (les colonnes ajoutées avant elle y sont, celles d'après non).
        precedente = ScriptDirectory.from_config(config).get_revision(PLEIN_TEXTE).down_revision
        command.upgrade(config, str(precedente))
        mettre_a_niveau(fts)
        mesure.insertion_avant_s = remplir(avant, nombre, graine)
        mesure.insertion_fts_s = remplir(fts, nombre, graine)
        saisies = [s.format(numero=numero(nombre // 2)) for s in SAISIES]
        rechercher_like(avant, saisies[0])  # caches chauds des deux côtés
        rechercher_fts(fts, saisies[0])
        like = durees_ms(rechercher_like, avant, saisies, tours)
        plein = durees_ms(rechercher_fts, fts, saisies, tours)
        mesure.like_ms = statistics.median(d for ds in like.values() for d in ds)
        mesure.fts_ms = statistics.median(d for ds in plein.values() for d in ds)
        mesure.par_saisie = {
            s: (statistics.median(like[s]), statistics.median(plein[s])) for s in saisies
        }
        for saisie, voulus in attendus(nombre).items():
            obtenus = trouves(fts, saisie)
            if not voulus or obtenus != voulus:
                en_trop, manquants = sorted(obtenus - voulus)[:3], sorted(voulus - obtenus)[:3]
                mesure.erreurs.append(
                    f"« {saisie} » : {len(obtenus)} trouvés, {len(voulus)} attendus"
                    f" (en trop : {en_trop}, manquants : {manquants})"
                )
    finally:
        avant.dispose()
        fts.dispose()
    return mesure


def _ratio(a: float, b: float) -> str:
    return f"×{a / b:.2f}" if b > 0 else "—"


def imprimer(m: Mesure) -> None:
    print(f"\n== {m.base} : {m.nombre:,} courriers ==".replace(",", " "))
    print(
        f"insertion en masse : sans index {m.insertion_avant_s:.2f} s, avec déclencheurs "
        f"{m.insertion_fts_s:.2f} s, coût des déclencheurs "
        f"{_ratio(m.insertion_fts_s, m.insertion_avant_s)}"
    )
    print(
        f"recherche (médiane de {len(SAISIES)} saisies, compte + page de 50) : LIKE d'avant "
        f"{m.like_ms:.1f} ms, plein texte {m.fts_ms:.1f} ms, ratio plein texte/LIKE "
        f"{_ratio(m.fts_ms, m.like_ms)} (LIKE {_ratio(m.like_ms, m.fts_ms)} plus lent)"
    )
    for saisie, (a, b) in m.par_saisie.items():
        print(f"  « {saisie} » : LIKE {a:.1f} ms, plein texte {b:.1f} ms")
    if m.erreurs:
        print("vérification : ÉCHEC")
        for e in m.erreurs:
            print(f"  {e}")
    else:
        print(
            f"vérification : les {len(attendus(m.nombre))} saisies plantées trouvent "
            "exactement leurs courriers"
        )


@contextlib.contextmanager
def _postgres(url: str) -> Iterator[str]:
    if url != "auto":
        yield url
        return
    from preuves.serveurs import postgres

    with postgres() as grappe:
        yield grappe


def _bases_postgres(grappe: str) -> tuple[str, str]:
    admin = create_engine(grappe, isolation_level="AUTOCOMMIT")
    suffixe = secrets.token_hex(4)
    noms = (f"banc_avant_{suffixe}", f"banc_fts_{suffixe}")
    with admin.connect() as connexion:
        for nom in noms:
            connexion.execute(text(f'CREATE DATABASE "{nom}"'))
    admin.dispose()
    racine = grappe.rsplit("/", 1)[0]
    return f"{racine}/{noms[0]}", f"{racine}/{noms[1]}"


def main(argv: list[str] | None = None) -> list[Mesure]:
    analyse = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    analyse.add_argument("--nombre", type=int, default=100_000)
    analyse.add_argument("--graine", type=int, default=2026)
    analyse.add_argument("--tours", type=int, default=3, help="passages sur la liste des saisies")
    analyse.add_argument("--postgres", default="", help="URL SQLAlchemy d'une grappe, ou « auto »")
    args = analyse.parse_args(argv)
    if args.nombre < 2 or args.nombre > 1_000_000:
        analyse.error("--nombre : entre 2 et 1 000 000")
    mesures = []
    with tempfile.TemporaryDirectory(prefix="courrier-banc-recherche-") as dossier:
        m = mesurer(
            f"sqlite:///{Path(dossier) / 'avant.sqlite3'}",
            f"sqlite:///{Path(dossier) / 'fts.sqlite3'}",
            "SQLite",
            args.nombre,
            args.graine,
            args.tours,
        )
        imprimer(m)
        mesures.append(m)
    if args.postgres:
        with _postgres(args.postgres) as grappe:
            url_avant, url_fts = _bases_postgres(grappe)
            m = mesurer(url_avant, url_fts, "PostgreSQL", args.nombre, args.graine, args.tours)
            imprimer(m)
            mesures.append(m)
    return mesures


if __name__ == "__main__":
    sys.exit(1 if any(m.erreurs for m in main()) else 0)
