"""Les communes que sert la page web : une installation, plusieurs communes (intercommunalité).

L'application sert toutes les communes de l'installation (courrier/communes.py). Chaque
demande d'une session travaille sur la commune que la session regarde : ses réglages, relus à
chaque demande (une commune ajoutée ou corrigée est servie sans redémarrer), et son registre,
ouvert à la première demande puis gardé ici. Une route ne reçoit que le `Contexte` de cette
commune (dependances.contexte) : elle n'a pas de quoi lire le courrier d'une autre, ni celui
du registre de l'installation, qui ne lui sert qu'à travers les comptes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.templating import Jinja2Templates

from courrier.communes import FICHIER, dossier_de, identifiants, lire_fichier
from courrier.communes import reglages_de_la_commune as relire_reglages
from courrier.config import Reglages
from interfaces.web.commun import Contexte, Refuse, environnement
from interfaces.web.images import page_png
from interfaces.web.securite import JetonsDeConnexion, LimiteurConnexions
from noyau.analyse import CATEGORIE_DE_REPLI
from noyau.communes import COMMUNE_PAR_DEFAUT
from noyau.erreurs import CourrierErreur
from registre.comptes import Comptes, SessionOuverte
from registre.registre import Registre

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger("courrier.web")

REFUS_COMMUNE = "Votre compte n'a pas accès à cette commune."
AUCUNE_COMMUNE = (
    "Votre compte n'a accès à aucune commune de cette installation : demandez à un "
    "administrateur de Courrier de vous en donner une."
)


def categories_des_regles(reglages: Reglages) -> dict[str, str]:
    try:
        from regles.chargement import charger_regles

        return {ident: c.libelle for ident, c in charger_regles(reglages.regles).categories.items()}
    except CourrierErreur as e:
        # La page reste ouverte (la relève, elle, refusera ces règles) : on ne corrige alors
        # que vers la catégorie de repli, la seule que le code connaisse sans les règles.
        logger.error("règles illisibles, seule la catégorie de repli est proposée : %s", e)
        return {CATEGORIE_DE_REPLI: CATEGORIE_DE_REPLI.capitalize()}


@dataclass
class CommuneOuverte:
    """Ce que l'application garde d'une commune entre deux demandes : son registre, le cache
    des pages rendues de son archive, ses catégories (tant que ses règles ne changent pas)."""

    registre: Registre
    a_fermer: bool
    png: Callable[[str, int], bytes] = field(init=False, repr=False)
    _categories: tuple[Path | None, dict[str, str]] | None = None

    def __post_init__(self) -> None:
        # Le rendu d'une page coûte ~0,2 s ; le même courrier est souvent rouvert. Un cache par
        # commune : il ne lit que l'archive de son registre.
        archive = self.registre.archive
        self.png = lru_cache(maxsize=32)(
            lambda empreinte, page: page_png(archive.lire(empreinte), page)
        )

    def categories(self, reglages: Reglages) -> dict[str, str]:
        if self._categories is None or self._categories[0] != reglages.regles:
            self._categories = (reglages.regles, categories_des_regles(reglages))
        return self._categories[1]


@dataclass
class Installation:
    """L'installation servie : ses réglages, ses comptes, et les communes déjà ouvertes."""

    reglages: Reglages
    comptes: Comptes
    origines_publiques: set[str] = field(default_factory=set)
    limiteur: LimiteurConnexions = field(default_factory=LimiteurConnexions)
    jetons_connexion: JetonsDeConnexion = field(default_factory=JetonsDeConnexion)
    gabarits: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(env=environnement()))
    _ouvertes: dict[str, CommuneOuverte] = field(default_factory=dict, repr=False)
    _verrou: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _noms: dict[str, tuple[float, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def servir(
        cls, reglages: Reglages, registre: Registre | None, origines: set[str]
    ) -> Installation:
        """L'installation ; son registre (celui des comptes et de la commune par défaut) est
        ouvert d'après les réglages s'il n'est pas donné."""
        a_fermer = registre is None
        if registre is None:
            registre = Registre.ouvrir(reglages.url_base, reglages.donnees)
        installation = cls(reglages, Comptes(registre), origines)
        installation._ouvertes[COMMUNE_PAR_DEFAUT] = CommuneOuverte(registre, a_fermer)
        return installation

    def communes(self) -> list[str]:
        """Les communes de l'installation, relues à chaque appel (une commune ajoutée compte)."""
        return identifiants(self.reglages)

    def nom(self, commune: str) -> str:
        """Le nom d'une commune pour le sélecteur (relu quand son fichier change)."""
        if commune == COMMUNE_PAR_DEFAUT:
            return self.reglages.commune
        fichier = dossier_de(self.reglages, commune) / FICHIER
        try:
            date = fichier.stat().st_mtime
            connu = self._noms.get(commune)
            if connu is None or connu[0] != date:
                connu = (date, lire_fichier(fichier).get("commune") or commune)
                self._noms[commune] = connu
            return connu[1]
        except (OSError, CourrierErreur):
            return commune

    def commune_de_la_session(self, ouverte: SessionOuverte, demandee: str | None) -> str:
        """La commune que la demande regarde : `demandee` (?commune=, un lien du digest) si le
        compte la voit, sinon celle de la session si elle lui est encore permise, sinon la
        première des siennes. Refuse (403) une commune demandée qu'il ne voit pas."""
        siennes = ouverte.compte.visibles(self.communes())
        if not siennes:
            raise Refuse(403, AUCUNE_COMMUNE)
        if demandee is not None:
            if demandee not in siennes:
                raise Refuse(403, REFUS_COMMUNE)
            return demandee
        return ouverte.commune if ouverte.commune in siennes else siennes[0]

    def contexte(self, commune: str, ouverte: SessionOuverte | None) -> Contexte:
        """Le contexte d'une demande sur `commune` (réglages relus, registre gardé)."""
        reglages = relire_reglages(self.reglages, commune)
        gardee = self._ouvrir(commune, reglages)
        siennes = ouverte.compte.visibles(self.communes()) if ouverte is not None else []
        return Contexte(
            reglages,
            gardee.registre,
            self.comptes,
            gardee.categories(reglages),
            gardee.png,
            limiteur=self.limiteur,
            jetons_connexion=self.jetons_connexion,
            gabarits=self.gabarits,
            origines_publiques=self.origines_publiques,
            commune_id=commune,
            communes=[(c, self.nom(c)) for c in siennes] if len(siennes) > 1 else [],
        )

    def _ouvrir(self, commune: str, reglages: Reglages) -> CommuneOuverte:
        with self._verrou:
            gardee = self._ouvertes.get(commune)
            if gardee is None:
                # Le registre refuse de s'ouvrir pour une autre commune que la sienne.
                registre = Registre.ouvrir(reglages.url_base, reglages.donnees, commune=commune)
                gardee = self._ouvertes[commune] = CommuneOuverte(registre, True)
            return gardee

    def fermer(self) -> None:
        """Ferme les registres que l'application a ouverts elle-même."""
        with self._verrou:
            for commune, gardee in list(self._ouvertes.items()):
                if gardee.a_fermer:
                    gardee.registre.fermer()
                    del self._ouvertes[commune]
