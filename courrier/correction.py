"""La correction du classement par la secrétaire (page web) : scellée au registre, puis les
brouillons encore à valider refaits selon le nouveau classement, par les gabarits.

Le LLM n'est pas appelé ici : la page répond tout de suite ; la secrétaire relit de toute
façon le nouveau brouillon avant de le valider.
"""

from __future__ import annotations

from collections.abc import Collection

from courrier.brouillons import rediger
from courrier.config import Reglages
from noyau.analyse import Analyse, Brouillon, CourrierALire
from registre.apprentissage import Refaits, corriger
from registre.registre import Registre
from regles.crpa import charger_crpa


def corriger_et_refaire(
    registre: Registre,
    r: Reglages,
    numero: str,
    acteur: str,
    *,
    categorie: str | None = None,
    service: str | None = None,
    urgence: str | None = None,
    reponse_attendue: bool | None = None,
    categories: Collection[str] = (),
) -> tuple[dict[str, tuple[str, str]], Refaits]:
    crpa, commune = charger_crpa(r.regles), r.commune_de_la_mairie()

    def rediger_gabarits(courrier: CourrierALire, analyse: Analyse) -> list[Brouillon]:
        return rediger(
            courrier, analyse, commune, crpa, gabarits=r.gabarits, le=registre.aujourd_hui()
        )

    return corriger(
        registre,
        numero,
        acteur,
        rediger_gabarits,
        categorie=categorie,
        service=service,
        urgence=urgence,
        reponse_attendue=reponse_attendue,
        categories=categories,
    )
