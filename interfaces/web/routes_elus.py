"""La vue des élus : leurs courriers et l'urgent, en lecture, avec un commentaire ; et, pour la
secrétaire, la correction de l'élu référent d'un courrier.

Un compte « élu » ne passe que par les chemins de `permis_a_l_elu` : la garde de l'application
refuse tout le reste (validation, envoi, correction, registre, pièces jointes…) avant même la
route. Une route nouvelle est donc fermée aux élus tant qu'on ne l'ajoute pas ici.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from interfaces.web import vues
from interfaces.web.commun import Contexte, Refuse, exiger_csrf, session_de
from interfaces.web.parametres import NumeroCourrier
from noyau.erreurs import CourrierErreur, RegistreErreur
from noyau.fiches import FicheCourrier
from registre.repartition import (
    commentaires,
    commenter,
    concerne,
    corriger_elu,
    courriers_de_l_elu,
)
from regles.repartition import Repartition, repartition_du_dossier

journal = logging.getLogger("courrier.web")

ROLE_ELU = "elu"
REFUS_ELU = (
    "Votre compte d'élu permet de lire vos courriers et de les commenter : cette action est "
    "réservée au secrétariat de mairie."
)
_PERMIS_ELU = (
    ("GET", re.compile(r"^/elu$")),
    ("GET", re.compile(r"^/elu/courrier/[0-9]{4}-[0-9]{5,10}$")),
    ("POST", re.compile(r"^/elu/courrier/[0-9]{4}-[0-9]{5,10}/commentaire$")),
    ("POST", re.compile(r"^/deconnexion$")),
)


def permis_a_l_elu(methode: str, chemin: str) -> bool:
    methode = "GET" if methode == "HEAD" else methode
    return any(methode == m and motif.match(chemin) for m, motif in _PERMIS_ELU)


def repartition_de(ctx: Contexte) -> Repartition:
    try:
        return repartition_du_dossier(ctx.reglages.regles)
    except CourrierErreur as e:
        # La relève refuse de démarrer sur ce fichier ; la page, elle, reste ouverte.
        journal.error("règles des élus illisibles : %s", e)
        return Repartition()


def routes(ctx: Contexte, routeur: APIRouter) -> None:
    reg, rendre = ctx.registre, ctx.rendre

    def _elu_de(request: Request) -> str | None:
        """L'élu du compte connecté ("" : compte d'élu relié à aucun élu des règles) ; None
        pour le secrétariat et le maire, qui voient ici les courriers de tous les élus."""
        ouverte = session_de(request)
        if ouverte.compte.role != ROLE_ELU:
            return None
        elu = repartition_de(ctx).elu_du_compte(ouverte.compte.nom)
        return elu.ident if elu is not None else ""

    def _courrier_de_l_elu(numero: str, elu: str | None) -> FicheCourrier:
        c = reg.courrier(numero[:16])
        # Même réponse pour un courrier absent et un courrier d'un autre élu : on ne devine pas
        # les numéros qui existent.
        if c is None or c.purge_le is not None or not concerne(c, elu):
            raise Refuse(404, f"Le courrier {numero[:16]} ne fait pas partie de vos courriers.")
        return c

    @routeur.get("/elu")
    def vue_elu(request: Request) -> Response:
        elu = _elu_de(request)
        repartition = repartition_de(ctx)
        return rendre(
            request,
            "elu.html.j2",
            rubrique="elu",
            vue_d_ensemble=elu is None,
            elu=repartition.elus.get(elu or ""),
            elus={e.ident: e.libelle for e in repartition.elus.values()},
            courriers=courriers_de_l_elu(reg, elu),
        )

    def _page(request: Request, numero: str, erreur: str = "", statut: int = 200) -> Response:
        elu = _elu_de(request)
        c = _courrier_de_l_elu(numero, elu)
        return rendre(
            request,
            "elu_courrier.html.j2",
            statut,
            erreur=erreur,
            rubrique="elu",
            c=c,
            canal=vues.LIBELLES_CANAL.get(c.canal, c.canal),
            elu_libelle=repartition_de(ctx).libelle(c.elu),
            echeance=vues.echeance(c, reg.aujourd_hui()),
            commentaires=commentaires(reg, c.numero),
        )

    @routeur.get("/elu/courrier/{numero}")
    def courrier_elu(request: Request, numero: NumeroCourrier) -> Response:
        return _page(request, numero)

    @routeur.post("/elu/courrier/{numero}/commentaire")
    def commentaire(
        request: Request,
        numero: NumeroCourrier,
        csrf: Annotated[str, Form()] = "",
        # Pas de borne ici : le registre refuse un commentaire trop long par une phrase claire,
        # et LimiteCorps borne déjà la demande entière.
        texte: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = exiger_csrf(request, csrf)
        c = _courrier_de_l_elu(numero, _elu_de(request))
        try:
            commenter(reg, c.numero, ouverte.compte.nom, texte)
        except RegistreErreur as e:
            return _page(request, c.numero, str(e), 400)
        return RedirectResponse(
            f"/elu/courrier/{c.numero}?fait=commentaire#commentaires", status_code=303
        )

    @routeur.post("/courrier/{numero}/elu")
    def corriger_elu_du_courrier(
        request: Request,
        numero: NumeroCourrier,
        csrf: Annotated[str, Form()] = "",
        elu: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        ouverte = exiger_csrf(request, csrf)
        try:
            change = corriger_elu(reg, repartition_de(ctx), numero, ouverte.compte.nom, elu)
        except RegistreErreur as e:
            raise Refuse(400, str(e)) from e
        fait = "classement" if change else "classement_inchange"
        return RedirectResponse(f"/courrier/{numero}?fait={fait}#analyse", status_code=303)
