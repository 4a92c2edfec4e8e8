"""Ce que les trois flows partagent pour viser une commune : ses réglages, son registre, le nom
de l'exécution.

Sans paramètre `commune`, un flow fait exactement ce qu'il faisait avant les communes : les
réglages de l'environnement (`reglages()`, donc `COURRIER_COMMUNE_ID` s'il est posé). Avec
`commune="x"`, ceux de la commune x, relus à chaque exécution (`charger(commune_id="x")`) :
une commune ajoutée ou corrigée est prise à la nuit suivante sans redémarrer les workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from courrier.config import Reglages, charger, reglages
from noyau.communes import COMMUNE_PAR_DEFAUT
from registre.registre import Registre


def reglages_de(commune: str | None) -> Reglages:
    """Les réglages de la commune demandée ; sans commune, ceux de l'environnement."""
    if commune is None:
        return reglages()
    return charger(commune_id=commune)


def registre_de(r: Reglages) -> Registre:
    """Le registre de la commune de `r` (il refuse de s'ouvrir pour une autre) ; à fermer."""
    return Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)


def nom_execution(flow: str) -> Callable[[], str]:
    """Le nom de chaque exécution (`releve-saint-jean`…) : dans l'interface de Prefect, la
    commune se lit sans ouvrir l'exécution. Lu des paramètres, sans valider : un nom ne doit
    jamais faire échouer l'exécution (la validation vient juste après, avec son message)."""

    def nommer() -> str:
        from prefect.runtime import flow_run

        parametres = flow_run.parameters or {}
        commune = parametres.get("commune")
        contexte = parametres.get("contexte")
        if not commune and contexte is not None:
            commune = getattr(getattr(contexte, "r", None), "commune_id", None)
        commune = commune or os.environ.get("COURRIER_COMMUNE_ID") or COMMUNE_PAR_DEFAUT
        return f"{flow}-{str(commune)[:60]}"

    return nommer
