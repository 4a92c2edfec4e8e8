"""La recherche des feuilles séparatrices, dans un processus à part.

Elle rend chaque page d'un PDF déposé par pdfium (code C) avant toute extraction : dans le
processus de la relève, un PDF piégé qui ferait tomber pdfium, ou l'emballerait, ferait tomber
la relève de la nuit, puis celle de chaque nuit suivante tant que le fichier reste dans le
dossier. Ici il ne fait tomber qu'un sous-processus à la mémoire et à la durée bornées ; le
fichier est alors enregistré entier, comme un scan ordinaire, et sa lecture (elle aussi
isolée) dira ce qui ne va pas.

Un sous-processus neuf par PDF déposé (quelques-uns par nuit) : il ne garde rien d'ouvert de
la relève et ne lui survit pas longtemps si elle est tuée. Il rend son découpage en JSON,
relu et borné ici : rien de ce qu'il écrit n'est exécuté (pas de pickle).

`python -m connecteurs.lots_isole [--page-blanche] [--panne=point:passage]` : le PDF sur
l'entrée, le découpage en JSON sur la sortie ; `--panne`, la consigne des preuves que lui passe
son lanceur (connecteurs/pannes.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import resource
import subprocess
import sys
from typing import Any

from connecteurs.lots import Decoupage, LettreDuLot, decouper, ressemble_a_un_pdf
from connecteurs.pannes import consigne, texte_de
from noyau.erreurs import raison_systeme
from noyau.pannes import PointDePanne, aucune

logger = logging.getLogger("courrier.lots")

# Comme un processus d'extraction (courrier/releve.py) : assez pour rendre un lot de 500 pages
# à 100 dpi, une page après l'autre.
MEMOIRE_MAX = 3 * 1024**3
# Un lot de 200 pages se découpe en ~15 s sur 2 cœurs chargés ; 500 pages en ~40 s.
DELAI_S = 300.0


def decouper_a_part(
    contenu: bytes, page_blanche: bool, delai_s: float = DELAI_S, panne: PointDePanne = aucune
) -> Decoupage | None:
    """`decouper` dans un sous-processus ; None (PDF ordinaire) s'il tombe, traîne ou répond
    de travers."""
    if not ressemble_a_un_pdf(contenu):
        return None  # une image, un fichier vide : rien à rendre, pas de processus
    commande = [sys.executable, "-m", "connecteurs.lots_isole"]
    if page_blanche:
        commande.append("--page-blanche")
    if texte := texte_de(panne):  # les preuves : la consigne passe au sous-processus, dite
        commande.append(f"--panne={texte}")
    try:
        fini = subprocess.run(
            commande,
            input=contenu,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=delai_s,
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() a tué le sous-processus
        logger.warning("Recherche des feuilles séparatrices trop longue : fichier entier.")
        return None
    except OSError as e:
        logger.warning("Recherche des feuilles séparatrices impossible (%s).", raison_systeme(e))
        return None
    if fini.returncode != 0:
        logger.warning(
            "Recherche des feuilles séparatrices tombée (code %s) : fichier entier.",
            fini.returncode,
        )
        return None
    try:
        return depuis_json(fini.stdout)
    except (ValueError, KeyError, TypeError):
        logger.warning("Recherche des feuilles séparatrices : réponse illisible.")
        return None


def en_json(decoupage: Decoupage | None) -> bytes:
    if decoupage is None:
        return b"null"
    return json.dumps(
        {
            "pages": decoupage.pages,
            "separatrices": decoupage.separatrices,
            "lettres": [
                {
                    "rang": lettre.rang,
                    "pages": list(lettre.pages),
                    "contenu": base64.b64encode(lettre.contenu).decode("ascii"),
                }
                for lettre in decoupage.lettres
            ],
        }
    ).encode("ascii")


def depuis_json(octets: bytes) -> Decoupage | None:
    """Le découpage écrit par le sous-processus, vérifié champ par champ."""
    brut: Any = json.loads(octets)
    if brut is None:
        return None
    pages = _entier(brut["pages"])
    lettres = []
    for rang, lettre in enumerate(brut["lettres"], start=1):
        numeros = tuple(_entier(p) for p in lettre["pages"])
        if (
            _entier(lettre["rang"]) != rang
            or not numeros
            or not all(1 <= p <= pages for p in numeros)
        ):
            raise ValueError("lettre incohérente")
        contenu = base64.b64decode(lettre["contenu"], validate=True)
        lettres.append(LettreDuLot(rang, numeros, contenu))
    return Decoupage(
        pages=pages, separatrices=_entier(brut["separatrices"]), lettres=tuple(lettres)
    )


def _entier(valeur: Any) -> int:
    if not isinstance(valeur, int) or isinstance(valeur, bool) or valeur < 0:
        raise ValueError("entier attendu")
    return valeur


def main() -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMOIRE_MAX, MEMOIRE_MAX))
    contenu = sys.stdin.buffer.read()
    arguments = sys.argv[1:]
    panne = consigne(
        next((a.removeprefix("--panne=") for a in arguments if a.startswith("--panne=")), "")
    )
    decoupage = decouper(contenu, page_blanche="--page-blanche" in arguments, panne=panne)
    sys.stdout.buffer.write(en_json(decoupage))


if __name__ == "__main__":
    main()
