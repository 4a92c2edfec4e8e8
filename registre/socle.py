"""Le socle commun aux responsabilités du registre : la base, l'archive, l'horloge, les points
de panne, et les unités de travail sur lesquelles toutes ses écritures reposent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Engine

from noyau.calendrier import Horloge, aujourd_hui, horloge_systeme
from noyau.communes import COMMUNE_PAR_DEFAUT
from noyau.domaine import TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.pannes import PointDePanne, aucune
from registre.archive import Archive
from registre.scellement import CHARGER_TOUT
from registre.tables import BrouillonLigne, Courrier
from registre.unite import UniteDeTravail, unite_de_travail

ACTEUR_RELEVE = "releve"
ACTEUR_ENVOI = "envoi"
# Écrit l'événement qui suit une décision sur un brouillon : (type, acteur, détails).
Noter = Callable[[TypeEvenement, str, dict[str, Any]], None]


class SocleRegistre:
    def __init__(
        self,
        engine: Engine,
        archive: Archive,
        horloge: Horloge = horloge_systeme,
        panne: PointDePanne = aucune,
        commune: str = COMMUNE_PAR_DEFAUT,
    ) -> None:
        self.engine = engine
        # La commune de ce registre (registre/commune.py l'a reconnue à l'ouverture).
        self.commune = commune
        self.archive = archive
        # Toute date écrite au registre (enregistrement, journal, décisions, chrono de l'année)
        # vient de cette horloge.
        self.horloge = horloge
        # Les preuves de robustesse y tuent le processus à un moment précis ; rien en production.
        self.panne = panne

    def aujourd_hui(self) -> date:
        """Le jour à Paris selon l'horloge du registre."""
        return aujourd_hui(self.horloge)

    def fermer(self) -> None:
        self.engine.dispose()

    def transaction(self) -> AbstractContextManager[UniteDeTravail]:
        """L'unité de travail : `with registre.transaction() as unite:` puis `unite.session`,
        `unite.evenement(...)`, `unite.sceller(...)` ; tout est validé ensemble, ou rien."""
        return unite_de_travail(self.engine, self.horloge)

    @contextmanager
    def sur_brouillon(self, ident: int) -> Iterator[tuple[Courrier, BrouillonLigne, Noter]]:
        """Une transaction sur un brouillon et son courrier ; `noter(type, acteur, détails)`
        écrit l'événement qui scelle le courrier après la modification."""
        with self.transaction() as unite:
            session = unite.session
            ligne = session.get(BrouillonLigne, ident)
            if ligne is None:
                raise RegistreErreur(f"Le brouillon n°{ident} n'existe pas.")
            courrier = session.get_one(Courrier, ligne.courrier_id, options=CHARGER_TOUT)
            # La ligne chargée avec le courrier est la même instance (carte d'identité).

            def noter(type_: TypeEvenement, acteur: str, details: dict[str, Any]) -> None:
                unite.sceller(type_, acteur, {"brouillon": ligne.rang, **details}, courrier)

            yield courrier, ligne, noter
