"""Une nuit de relève, dans un processus à part que le banc d'essai peut tuer.

Les mêmes étapes que le flow Prefect `releve` et que `courrier releve` (courrier/etapes.py),
appelées sans l'orchestrateur Prefect (démarrer un serveur Prefect à chaque essai coûterait plus que
l'essai), l'une après l'autre : un point de panne tombe ainsi toujours dans la même étape.
Tout se règle par l'environnement (`COURRIER_…`), comme en production ; `COURRIER_PANNE`
désigne le point où mourir.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from courrier.etapes import ContexteReleve


def nuit() -> dict[str, object]:
    # Importés ici, à l'appel : Prefect n'a rien à y faire.
    from courrier.etapes import (
        ContexteReleve,
        analyser_tout,
        lire,
        relever_nommee,
        sources_configurees,
    )
    from courrier.pannes import depuis_environnement
    from noyau.domaine import TypeEvenement
    from noyau.erreurs import CourrierErreur, RegistreErreur

    # Le point d'entrée de la nuit d'essai : la consigne de panne vient de l'environnement.
    contexte = ContexteReleve.ouvrir(panne=depuis_environnement())
    bilan: dict[str, object] = {}
    for nom in sources_configurees(contexte.r):
        try:
            source = relever_nommee(nom, contexte)
        except RegistreErreur:
            raise
        except CourrierErreur as e:  # comme le flow : une source en panne n'arrête pas la nuit
            contexte.registre.evenement_general(
                TypeEvenement.ERREUR, "releve", {"source": nom, "raison": str(e)}
            )
            bilan[nom] = {"erreur": str(e)}
            continue
        bilan[nom] = {"nouveaux": source.nouveaux, "doublons": source.doublons}
    extraction = lire(contexte)
    bilan["extraits"] = extraction.extraits
    bilan["erreurs_lecture"] = len(extraction.en_erreur)
    analyse = analyser_tout(contexte)
    bilan["analyses"] = analyse.analyses
    bilan["par_llm"] = analyse.par_llm
    if os.environ.get("COURRIER_PREUVE_SECRETAIRE") == "oui":
        bilan["envoi"] = valider_et_envoyer(contexte)
    contexte.fermer()
    return bilan


def valider_et_envoyer(contexte: ContexteReleve) -> dict[str, int]:
    """La secrétaire (simulée) valide par courriel chaque brouillon qui a une adresse ; puis
    l'envoi, celui de la page web et de `courrier envoyer`, reprend les envois interrompus et
    envoie. Une nuit tuée ici laisse des brouillons validés, ou « en envoi »."""
    from courrier.envoi import envoyer_valides
    from registre.registre import adresse_de_reponse

    registre = contexte.registre
    for courrier, ligne in registre.brouillons_a_valider():
        if adresse_de_reponse(courrier, ligne):
            registre.valider_brouillon(ligne.id, "secretaire", "courriel")
    envoi = envoyer_valides(registre, contexte.r, panne=contexte.panne)
    return {
        "envoyes": len(envoi.envoyes),
        "retrouves": len(envoi.retrouves),
        "a_verifier": len(envoi.a_verifier),
        "echecs": len(envoi.echecs),
    }


if __name__ == "__main__":
    json.dump(nuit(), sys.stdout)
    sys.stdout.write("\n")
