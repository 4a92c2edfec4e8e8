"""Un brouillon : l'éditeur, la validation (courriel ou lettre papier), le rejet, la
vérification d'un envoi douteux."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from interfaces.web import vues
from interfaces.web.commun import Contexte, Refuse, envoyer_en_tache, piece_jointe
from interfaces.web.dependances import BrouillonDeLIdent, CsrfBrouillon, Ctx, trouver_brouillon
from interfaces.web.parametres import IdentBrouillon
from noyau.difference import part_changee, segments
from noyau.domaine import StatutBrouillon
from noyau.erreurs import RegistreErreur, TexteTropLong

routeur = APIRouter()

# --- Un brouillon -------------------------------------------------------------------------------


def _adresse_postale(c: Any) -> str:
    from courrier.lettre import adresse_postale

    return str(adresse_postale(c))


def _page_brouillon(
    ctx: Contexte,
    request: Request,
    ident: int,
    erreur: str = "",
    statut: int = 200,
    objet: str | None = None,
    corps: str | None = None,
    adresse: str | None = None,
) -> Response:
    # Relu ici, pas reçu de la route : après une action refusée, la page montre l'état actuel.
    c, b = trouver_brouillon(ctx, ident)
    modifiable = b.statut in (
        StatutBrouillon.A_VALIDER.value,
        StatutBrouillon.VALIDE.value,
        StatutBrouillon.NON_REMIS.value,
    )
    return ctx.rendre(
        request,
        "brouillon.html.j2",
        statut,
        erreur=erreur,
        c=c,
        b=b,
        type_brouillon=vues.LIBELLES_BROUILLON.get(b.type, b.type),
        libelle_statut=vues.libelle_statut_brouillon(b.statut),
        ia=vues.prepare_par_ia(c, b),
        alertes=vues.alertes(c, ctx.reglages.ocr_seuil_confiance),
        echeance=vues.echeance(c, ctx.registre.aujourd_hui()),
        modifiable=modifiable,
        objet=b.objet if objet is None else objet,
        corps=b.corps if corps is None else corps,
        adresse=_adresse_postale(c) if adresse is None else adresse,
        adresse_courriel=_adresse_courriel(c, b),
        lettre_a_produire=b.statut == StatutBrouillon.VALIDE.value and b.mode == "papier",
        **_difference(b.corps_original, b.corps),
    )


def _difference(original: str, actuel: str) -> dict[str, Any]:
    """Ce que la secrétaire a changé au texte préparé (vide s'il n'a pas changé)."""
    if not original or original == actuel:
        return {"difference": [], "part_changee": 0.0}
    morceaux = segments(original, actuel)
    return {"difference": morceaux, "part_changee": part_changee(original, actuel, morceaux)}


def _adresse_courriel(c: Any, b: Any) -> str:
    from registre.registre import adresse_de_reponse

    return adresse_de_reponse(c, b)


def _produire_lettre(ctx: Contexte, ident: int, nom: str, adresse: str) -> None:
    from courrier.lettre import composer_lettre, decouper_brouillon

    c, b = trouver_brouillon(ctx, ident)
    commune = ctx.reglages.commune_de_la_mairie()
    # Le brouillon est écrit comme une lettre complète : la lettre PDF place elle-même
    # l'en-tête, l'adresse (dans la fenêtre), l'objet et la signature.
    objet, corps = decouper_brouillon(b.corps, commune)
    pdf = composer_lettre(
        commune,
        adresse.strip(),
        objet or b.objet,
        corps,
        le=ctx.registre.aujourd_hui(),
        reference=c.numero,
    )
    ctx.registre.consigner_lettre(ident, nom, pdf)


@routeur.get("/brouillon/{ident}")
def brouillon(request: Request, ctx: Ctx, ident: IdentBrouillon) -> Response:
    return _page_brouillon(ctx, request, ident)


@routeur.post("/brouillon/{ident}")
def decider(
    request: Request,
    ctx: Ctx,
    ident: IdentBrouillon,
    taches: BackgroundTasks,
    ouverte: CsrfBrouillon,
    action: Annotated[str, Form()] = "",
    objet: Annotated[str, Form()] = "",
    corps: Annotated[str, Form()] = "",
    adresse: Annotated[str, Form()] = "",
) -> Response:
    reg, nom = ctx.registre, ouverte.compte.nom
    try:
        if action == "enregistrer":
            change = reg.modifier_brouillon(ident, nom, objet, corps)
            fait = "enregistre" if change else "inchange"
            return RedirectResponse(f"/brouillon/{ident}?fait={fait}", status_code=303)
        if action == "valider":
            reg.valider_brouillon(ident, nom, "courriel", objet, corps)
            taches.add_task(envoyer_en_tache, reg, ctx.reglages, ident)
            return RedirectResponse("/?fait=valide", status_code=303)
        if action == "papier":
            if not adresse.strip():
                raise RegistreErreur("Indiquez l'adresse postale du destinataire.")
            reg.valider_brouillon(ident, nom, "papier", objet, corps)
            _produire_lettre(ctx, ident, nom, adresse)
            return RedirectResponse(f"/brouillon/{ident}?fait=lettre", status_code=303)
    except TexteTropLong as e:
        return _page_brouillon(ctx, request, ident, str(e), 422, objet, corps, adresse)
    except RegistreErreur as e:
        return _page_brouillon(ctx, request, ident, str(e), 409, objet, corps, adresse)
    raise Refuse(400, "Action inconnue.")


@routeur.post("/brouillon/{ident}/lettre")
def produire_lettre(
    request: Request,
    ctx: Ctx,
    ident: IdentBrouillon,
    ouverte: CsrfBrouillon,
    adresse: Annotated[str, Form()] = "",
) -> Response:
    try:
        if not adresse.strip():
            raise RegistreErreur("Indiquez l'adresse postale du destinataire.")
        _produire_lettre(ctx, ident, ouverte.compte.nom, adresse)
    except RegistreErreur as e:
        return _page_brouillon(ctx, request, ident, str(e), 409, adresse=adresse)
    return RedirectResponse(f"/brouillon/{ident}?fait=lettre", status_code=303)


@routeur.get("/brouillon/{ident}/lettre.pdf")
def lettre_pdf(ctx: Ctx, trouve: BrouillonDeLIdent) -> Response:
    c, b = trouve
    if not b.lettre_empreinte:
        raise Refuse(404, "Aucune lettre n'a été produite pour ce brouillon.")
    return piece_jointe(
        ctx.registre.archive.lire(b.lettre_empreinte), f"lettre-{c.numero}.pdf", "application/pdf"
    )


@routeur.post("/brouillon/{ident}/rejeter")
def rejeter(
    request: Request,
    ctx: Ctx,
    ident: IdentBrouillon,
    ouverte: CsrfBrouillon,
    raison: Annotated[str, Form()] = "",
) -> Response:
    try:
        ctx.registre.rejeter_brouillon(ident, ouverte.compte.nom, raison)
    except RegistreErreur as e:
        return _page_brouillon(ctx, request, ident, str(e), 409)
    return RedirectResponse("/?fait=rejete", status_code=303)


@routeur.post("/brouillon/{ident}/verification")
def verification(
    request: Request,
    ctx: Ctx,
    ident: IdentBrouillon,
    taches: BackgroundTasks,
    ouverte: CsrfBrouillon,
    parti: Annotated[str, Form()] = "",
) -> Response:
    if parti not in ("oui", "non"):
        raise Refuse(400, "Dites si la réponse est partie ou non.")
    try:
        ctx.registre.verification_faite(ident, ouverte.compte.nom, parti == "oui")
    except RegistreErreur as e:
        return _page_brouillon(ctx, request, ident, str(e), 409)
    if parti == "non":
        taches.add_task(envoyer_en_tache, ctx.registre, ctx.reglages, ident)
    return RedirectResponse(f"/?fait={'parti' if parti == 'oui' else 'renvoi'}", status_code=303)
