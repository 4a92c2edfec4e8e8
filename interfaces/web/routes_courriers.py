"""La file d'attente et la page d'un courrier : texte, pièces, pages numérisées, classement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from courrier.correction import corriger_et_refaire
from interfaces.web import vues
from interfaces.web.commun import Contexte, Refuse, piece_jointe
from interfaces.web.dependances import (
    CourrierDuNumero,
    CsrfCourrier,
    Ctx,
    repartition_de,
    trouver_courrier,
)
from interfaces.web.images import ImageErreur, nombre_de_pages
from interfaces.web.parametres import NumeroCourrier, PageScan, RangPiece
from noyau.domaine import StatutBrouillon
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from registre.lots import reference_du_courrier
from registre.repartition import commentaires
from registre.transparence import provenance_apprentissage

routeur = APIRouter()

# --- File d'attente -----------------------------------------------------------------------------


@routeur.get("/")
def file_d_attente(request: Request, ctx: Ctx) -> Response:
    reg, categories, seuil = ctx.registre, ctx.categories, ctx.reglages.ocr_seuil_confiance
    jour = reg.aujourd_hui()
    entrees = [
        vues.entree_file(c, b, jour, categories, seuil) for c, b in reg.brouillons_a_valider()
    ]
    for ident in reg.brouillons_par_statut(
        StatutBrouillon.VALIDE, StatutBrouillon.EN_ENVOI, StatutBrouillon.A_VERIFIER
    ):
        trouve = reg.brouillon(ident)
        if trouve is not None:
            entrees.append(vues.entree_file(*trouve, jour, categories, seuil))
    entrees = vues.ordonner(entrees)
    a_valider = [e for e in entrees if e.statut == StatutBrouillon.A_VALIDER.value]
    suivis = [e for e in entrees if e.statut != StatutBrouillon.A_VALIDER.value]
    elus = {e.ident: e.libelle for e in repartition_de(ctx).elus.values()}
    return ctx.rendre(request, "file.html.j2", a_valider=a_valider, suivis=suivis, elus=elus)


# --- Un courrier --------------------------------------------------------------------------------


def _page_courrier(
    ctx: Contexte, request: Request, numero: str, erreur: str = "", statut: int = 200
) -> Response:
    reg, seuil = ctx.registre, ctx.reglages.ocr_seuil_confiance
    c = trouver_courrier(ctx, numero)
    pages = 0
    if c.canal == "scan":
        try:
            pages = nombre_de_pages(reg.archive.lire(c.empreinte))
        except RegistreErreur:
            pages = 0
    repartition = repartition_de(ctx)
    return ctx.rendre(
        request,
        "courrier.html.j2",
        statut,
        erreur=erreur,
        c=c,
        canal=vues.LIBELLES_CANAL.get(c.canal, c.canal),
        statut_courrier=vues.LIBELLES_STATUT_COURRIER.get(c.statut, c.statut),
        pages=pages,
        lot=reference_du_courrier(reg.engine, c.id),
        ia=vues.analyse_par_ia(c),
        appris=provenance_apprentissage(c.analyse),
        alertes=vues.alertes(c, seuil),
        pages_ocr=vues.pages_ocr(c, seuil),
        echeance=vues.echeance(c, reg.aujourd_hui()),
        delais_legaux=vues.delais_legaux(c, reg.aujourd_hui()),
        brouillons=[
            (
                b,
                vues.LIBELLES_BROUILLON.get(b.type, b.type),
                vues.libelle_statut_brouillon(b.statut),
                vues.prepare_par_ia(c, b),
            )
            for b in c.brouillons
        ],
        journal=[vues.ligne_journal(ev) for ev in reg.evenements(c.numero)],
        elus={e.ident: e.libelle for e in repartition.elus.values()},
        elu_libelle=repartition.libelle(c.elu),
        commentaires=commentaires(reg, c.numero),
    )


@routeur.get("/courrier/{numero}")
def courrier(request: Request, ctx: Ctx, numero: NumeroCourrier) -> Response:
    return _page_courrier(ctx, request, numero)


@routeur.post("/courrier/{numero}/classement")
def corriger_classement(
    request: Request,
    ctx: Ctx,
    ouverte: CsrfCourrier,
    c: CourrierDuNumero,
    categorie: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    urgence: Annotated[str, Form()] = "",
    reponse: Annotated[str, Form()] = "",
) -> Response:
    if reponse not in ("", "oui", "non"):
        return _page_courrier(ctx, request, c.numero, "Réponse attendue : « oui » ou « non ».", 400)
    try:
        changes, refaits = corriger_et_refaire(
            ctx.registre,
            ctx.reglages,
            c.numero,
            ouverte.compte.nom,
            categorie=categorie or None,
            service=service,
            urgence=urgence or None,
            reponse_attendue={"oui": True, "non": False}.get(reponse),
            categories=ctx.categories,
        )
    except RegistreErreur as e:
        return _page_courrier(ctx, request, c.numero, str(e), 400)
    except ConfigurationErreur as e:  # règles illisibles : rien n'est écrit, la page le dit
        return _page_courrier(ctx, request, c.numero, str(e), 500)
    fait = "classement" if changes else "classement_inchange"
    fait = "classement_brouillons" if refaits.remplaces or refaits.nouveaux else fait
    return RedirectResponse(f"/courrier/{c.numero}?fait={fait}#analyse", status_code=303)


@routeur.get("/courrier/{numero}/original")
def original(ctx: Ctx, c: CourrierDuNumero) -> Response:
    defaut = f"courrier-{c.numero}" + (".eml" if c.canal != "scan" else "")
    nom = vues.nom_de_fichier_sur(c.nom_fichier, defaut) if c.nom_fichier else defaut
    return piece_jointe(ctx.registre.archive.lire(c.empreinte), nom)


@routeur.get("/courrier/{numero}/piece/{rang}")
def piece(ctx: Ctx, numero: NumeroCourrier, rang: RangPiece) -> Response:
    # Cherché ici, pas par dépendance : un rang hors bornes répond « Cette page n'existe pas »
    # avant toute recherche, même pour un courrier absent.
    c = trouver_courrier(ctx, numero)
    for p in c.pieces:
        if p.rang == rang:
            nom = vues.nom_de_fichier_sur(p.nom, f"piece-{rang}")
            return piece_jointe(ctx.registre.archive.lire(p.empreinte), nom)
    raise Refuse(404, "Cette pièce jointe n'existe pas.")


@routeur.get("/courrier/{numero}/page/{page}")
def page_numerisee(ctx: Ctx, numero: NumeroCourrier, page: PageScan) -> Response:
    c = trouver_courrier(ctx, numero)  # après la validation de `page`, comme `piece`
    if c.canal != "scan":
        raise Refuse(404, "Ce courrier n'est pas une lettre numérisée.")
    try:
        png = ctx.png(c.empreinte, page)
    except ImageErreur as e:
        raise Refuse(404, str(e)) from e
    return Response(png, media_type="image/png", headers={"Cache-Control": "private"})
