"""Une nuit de relève, dans un processus à part que le banc d'essai peut tuer.

Les mêmes étapes que le flow Prefect `releve` et que `courrier releve` (courrier/etapes.py),
appelées sans le moteur Prefect (démarrer un serveur Prefect à chaque essai coûterait plus que
l'essai), l'une après l'autre : un point de panne tombe ainsi toujours dans la même étape.
Tout se règle par l'environnement (`COURRIER_…`), comme en production ; `COURRIER_PANNE`
désigne le point où mourir.
"""

from __future__ import annotations

import json
import os
import sys


def nuit() -> dict[str, object]:
    # Importés ici : chaque processus d'OCR (forkserver) réimporte le module principal, et
    # Prefect n'a rien à y faire.
    from courrier.config import reglages
    from courrier.etapes import (
        analyser_tout,
        lire,
        registre_courant,
        relever_nommee,
        sources_configurees,
    )
    from noyau.domaine import TypeEvenement
    from noyau.erreurs import CourrierErreur, RegistreErreur

    bilan: dict[str, object] = {}
    for nom in sources_configurees(reglages()):
        try:
            source = relever_nommee(nom)
        except RegistreErreur:
            raise
        except CourrierErreur as e:  # comme le flow : une source en panne n'arrête pas la nuit
            registre_courant().evenement_general(
                TypeEvenement.ERREUR, "releve", {"source": nom, "raison": str(e)}
            )
            bilan[nom] = {"erreur": str(e)}
            continue
        bilan[nom] = {"nouveaux": source.nouveaux, "doublons": source.doublons}
    extraction = lire()
    bilan["extraits"] = extraction.extraits
    bilan["erreurs_lecture"] = len(extraction.en_erreur)
    analyse = analyser_tout()
    bilan["analyses"] = analyse.analyses
    bilan["par_llm"] = analyse.par_llm
    if os.environ.get("COURRIER_PREUVE_SECRETAIRE") == "oui":
        bilan["envoi"] = valider_et_envoyer()
    return bilan


def valider_et_envoyer() -> dict[str, int]:
    """La secrétaire (simulée) valide par courriel chaque brouillon qui a une adresse ; puis
    l'envoi, celui de la page web et de `courrier envoyer`, reprend les envois interrompus et
    envoie. Une nuit tuée ici laisse des brouillons validés, ou « en envoi »."""
    from courrier.config import reglages
    from courrier.envoi import envoyer_valides
    from courrier.etapes import registre_courant
    from registre.registre import adresse_de_reponse

    registre = registre_courant()
    for courrier, ligne in registre.brouillons_a_valider():
        if adresse_de_reponse(courrier, ligne):
            registre.valider_brouillon(ligne.id, "secretaire", "courriel")
    envoi = envoyer_valides(registre, reglages())
    return {
        "envoyes": len(envoi.envoyes),
        "retrouves": len(envoi.retrouves),
        "a_verifier": len(envoi.a_verifier),
        "echecs": len(envoi.echecs),
    }


if __name__ == "__main__":
    json.dump(nuit(), sys.stdout)
    sys.stdout.write("\n")
