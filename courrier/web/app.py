"""La page web de la secrétaire et du maire (FastAPI, pages rendues côté serveur).

Toute route, sauf la connexion et les fichiers statiques, demande une session : la garde est
un middleware, pas une dépendance qu'une route nouvelle pourrait oublier. Chaque formulaire
porte un jeton CSRF vérifié avant toute action. Chaque correction et chaque décision passe par
le registre, qui l'écrit au journal avec le nom de la personne connectée.

Le texte d'un courrier est toujours montré échappé : le HTML d'origine n'est jamais rendu.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import BackgroundTasks, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from courrier.analyse import CATEGORIES, Urgence
from courrier.calendrier import aujourd_hui
from courrier.config import Reglages
from courrier.domaine import Statut, StatutBrouillon
from courrier.erreurs import CourrierErreur, RegistreErreur
from courrier.web import vues
from courrier.web.images import ImageErreur, nombre_de_pages, page_png
from courrier.web.securite import ENTETES, LimiteurConnexions, jeton_valide
from registre.comptes import ROLES, Comptes, SessionOuverte
from registre.recherche import Filtres, pour_export, rechercher
from registre.registre import Registre

journal = logging.getLogger("courrier.web")

ICI = Path(__file__).resolve().parent
GABARITS = ICI / "gabarits"
STATIQUE = ICI / "statique"
COOKIE_SESSION = "courrier_session"
COOKIE_CSRF = "courrier_csrf"  # jeton du formulaire de connexion, avant toute session
PUBLIQUES = ("/connexion",)

MESSAGES = {
    "enregistre": "Le brouillon est enregistré.",
    "inchange": "Rien n'a changé dans le brouillon.",
    "valide": "Réponse validée : elle part par courriel dans un instant.",
    "lettre": "Lettre produite : téléchargez-la, imprimez-la et postez-la.",
    "rejete": "Le brouillon est rejeté.",
    "parti": "C'est noté : la réponse est bien partie.",
    "renvoi": "C'est noté : la réponse va être renvoyée.",
    "classement": "Le classement est corrigé.",
    "classement_inchange": "Le classement n'a pas changé.",
    "compte_cree": "Le compte est créé.",
    "compte_desactive": "Le compte est désactivé.",
    "deconnecte": "Vous êtes déconnecté.",
}


class NonConnecte(Exception):
    pass


class Refuse(Exception):
    """Une requête refusée avec un code et une phrase (403 CSRF ou rôle, 404, 429)."""

    def __init__(self, statut: int, message: str) -> None:
        super().__init__(message)
        self.statut = statut
        self.message = message


def _environnement() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(GABARITS),
        autoescape=True,  # tout texte venu d'un courrier est échappé, sans exception
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["heure"] = vues.heure
    env.filters["jour"] = lambda d: d.strftime("%d/%m/%Y") if d else ""
    return env


def envoyer_en_tache(registre: Registre, reglages: Reglages, ident: int) -> None:
    """Après la réponse HTTP : l'envoi réel (courrier.envoi) ; un échec reste au registre."""
    from courrier.envoi import envoyer_valides

    try:
        envoyer_valides(registre, reglages, idents=[ident])
    except Exception:
        journal.exception("envoi du brouillon %s", ident)


def _session(request: Request) -> SessionOuverte:
    ouverte: SessionOuverte | None = getattr(request.state, "session", None)
    if ouverte is None:  # la garde l'a déjà refusé ; ceinture et bretelles
        raise NonConnecte()
    return ouverte


def _exiger_csrf(request: Request, recu: str) -> SessionOuverte:
    ouverte = _session(request)
    if not jeton_valide(ouverte.csrf, recu):
        raise Refuse(
            403,
            "Ce formulaire a expiré ou ne vient pas de cette page : rechargez la page et "
            "recommencez.",
        )
    return ouverte


def _exiger_admin(request: Request) -> SessionOuverte:
    ouverte = _session(request)
    if not ouverte.compte.admin:
        raise Refuse(403, "Cette page est réservée aux administrateurs.")
    return ouverte


def _suite_sure(suite: str) -> bool:
    """Un chemin de ce site : « //autre.site » ou « /\\autre.site » mèneraient ailleurs."""
    return (
        suite.startswith("/")
        and not suite.startswith("//")
        and "\\" not in suite
        and suite.isprintable()
        and len(suite) < 500
    )


def _date(texte: str, nom: str) -> date | None:
    texte = texte.strip()
    if not texte:
        return None
    try:
        return date.fromisoformat(texte)
    except ValueError:
        raise Refuse(400, f"La date « {texte[:20]} » ({nom}) n'est pas une date valide.") from None


def _piece_jointe(
    contenu: bytes, nom: str, type_mime: str = "application/octet-stream"
) -> Response:
    # Toujours un téléchargement, jamais affiché par le navigateur (nosniff fait le reste).
    return Response(
        contenu,
        media_type=type_mime,
        headers={
            "Content-Disposition": f"attachment; filename=\"{nom}\"; filename*=UTF-8''{quote(nom)}"
        },
    )


def creer_app(reglages: Reglages, registre: Registre | None = None) -> FastAPI:
    """L'application ; le registre est ouvert d'après les réglages s'il n'est pas donné."""
    if registre is None:
        registre = Registre.ouvrir(reglages.url_base, reglages.donnees)
    reg: Registre = registre
    comptes = Comptes(reg)
    limiteur = LimiteurConnexions()
    gabarits = Jinja2Templates(env=_environnement())
    try:
        from regles.chargement import charger_regles

        categories = {
            ident: c.libelle for ident, c in charger_regles(reglages.regles).categories.items()
        }
    except CourrierErreur:
        categories = {c: c for c in CATEGORIES}

    app = FastAPI(title="Courrier", docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    app.state.registre = reg
    app.state.comptes = comptes
    app.state.limiteur = limiteur
    app.mount("/statique", StaticFiles(directory=STATIQUE), name="statique")

    def rendre(request: Request, gabarit: str, statut: int = 200, **contexte: Any) -> HTMLResponse:
        ouverte: SessionOuverte | None = getattr(request.state, "session", None)
        fait = request.query_params.get("fait", "")
        contexte.setdefault("message", MESSAGES.get(fait, ""))
        contexte.setdefault("erreur", "")
        contexte.update(
            compte=ouverte.compte if ouverte else None,
            csrf=ouverte.csrf if ouverte else "",
            commune=reglages.commune,
            categories=categories,
            urgences=[u.value for u in Urgence],
            libelles_urgence=vues.LIBELLES_URGENCE,
        )
        return gabarits.TemplateResponse(request, gabarit, contexte, status_code=statut)

    # --- Garde, en-têtes et erreurs -------------------------------------------------------------

    @app.middleware("http")
    async def garde(request: Request, suite: Callable[[Request], Awaitable[Response]]) -> Response:
        chemin = request.url.path
        request.state.session = None
        if chemin in PUBLIQUES or chemin.startswith("/statique/"):
            reponse = await suite(request)
        else:
            jeton = request.cookies.get(COOKIE_SESSION, "")
            ouverte = await run_in_threadpool(comptes.session, jeton) if jeton else None
            if ouverte is None:
                reponse = _non_connecte(request)
            else:
                request.state.session = ouverte
                reponse = await suite(request)
        for cle, valeur in ENTETES.items():
            reponse.headers.setdefault(cle, valeur)
        if not chemin.startswith("/statique/"):
            reponse.headers.setdefault("Cache-Control", "no-store")
        return reponse

    def _non_connecte(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            suite = request.url.path
            cible = "/connexion" + (f"?{urlencode({'suite': suite})}" if suite != "/" else "")
            return RedirectResponse(cible, status_code=303)
        return HTMLResponse(
            "<!doctype html><html lang=fr><title>Connexion nécessaire</title>"
            "<p>Connectez-vous d'abord : <a href=/connexion>page de connexion</a>.</p></html>",
            status_code=401,
        )

    @app.exception_handler(NonConnecte)
    async def _gerer_non_connecte(request: Request, e: NonConnecte) -> Response:
        return _non_connecte(request)

    @app.exception_handler(Refuse)
    async def _gerer_refus(request: Request, e: Refuse) -> Response:
        return rendre(request, "erreur.html.j2", e.statut, erreur=e.message)

    @app.exception_handler(StarletteHTTPException)
    async def _gerer_http(request: Request, e: StarletteHTTPException) -> Response:
        message = {
            404: "Cette page n'existe pas.",
            405: "Cette action n'est pas permise ici.",
        }.get(e.status_code, "La demande n'a pas pu aboutir.")
        return rendre(request, "erreur.html.j2", e.status_code, erreur=message)

    @app.exception_handler(RequestValidationError)
    async def _gerer_validation(request: Request, e: RequestValidationError) -> Response:
        return rendre(
            request, "erreur.html.j2", 400, erreur="La demande est incomplète ou mal formée."
        )

    # --- Connexion ------------------------------------------------------------------------------

    def _page_connexion(
        request: Request, erreur: str = "", statut: int = 200, nom: str = ""
    ) -> Response:
        jeton = request.cookies.get(COOKIE_CSRF, "")
        if len(jeton) < 20:
            jeton = secrets.token_urlsafe(32)
        suite = request.query_params.get("suite", "")
        reponse = rendre(
            request,
            "connexion.html.j2",
            statut,
            erreur=erreur,
            jeton_connexion=jeton,
            suite=suite if _suite_sure(suite) else "",
            nom=nom,
        )
        reponse.set_cookie(
            COOKIE_CSRF,
            jeton,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/connexion",
        )
        return reponse

    @app.get("/connexion")
    def connexion(request: Request) -> Response:
        return _page_connexion(request)

    @app.post("/connexion")
    def se_connecter(
        request: Request,
        nom: Annotated[str, Form()] = "",
        mot_de_passe: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
        suite: Annotated[str, Form()] = "",
    ) -> Response:
        if not jeton_valide(request.cookies.get(COOKIE_CSRF, ""), csrf):
            return _page_connexion(
                request,
                "Ce formulaire a expiré : recommencez (les cookies doivent être permis).",
                403,
            )
        adresse = request.client.host if request.client else "?"
        nom = nom.strip()[:64]
        if limiteur.bloque(nom, adresse):
            return _page_connexion(
                request,
                "Trop d'essais manqués : attendez un quart d'heure avant de réessayer.",
                429,
                nom,
            )
        compte = comptes.authentifier(nom, mot_de_passe)
        if compte is None:
            limiteur.echec(nom, adresse)
            return _page_connexion(request, "Nom ou mot de passe incorrect.", 401, nom)
        limiteur.reussite(nom, adresse)
        jeton = comptes.ouvrir_session(compte)
        cible = suite if _suite_sure(suite) else "/"
        reponse = RedirectResponse(cible, status_code=303)
        reponse.set_cookie(
            COOKIE_SESSION,
            jeton,
            max_age=int(comptes.duree_session.total_seconds()),
            httponly=True,
            # Lax plutôt que Strict : le maire arrive souvent par le lien du digest, depuis sa
            # messagerie ; toute action demande de toute façon le jeton CSRF.
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        reponse.delete_cookie(COOKIE_CSRF, path="/connexion")
        return reponse

    @app.post("/deconnexion")
    def se_deconnecter(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        _exiger_csrf(request, csrf)
        comptes.fermer_session(request.cookies.get(COOKIE_SESSION, ""))
        reponse = RedirectResponse("/connexion?fait=deconnecte", status_code=303)
        reponse.delete_cookie(COOKIE_SESSION, path="/")
        return reponse

    # --- File d'attente -------------------------------------------------------------------------

    @app.get("/")
    def file_d_attente(request: Request) -> Response:
        jour = aujourd_hui()
        entrees = [vues.entree_file(c, b, jour, categories) for c, b in reg.brouillons_a_valider()]
        for ident in reg.brouillons_par_statut(
            StatutBrouillon.VALIDE, StatutBrouillon.EN_ENVOI, StatutBrouillon.A_VERIFIER
        ):
            trouve = reg.brouillon(ident)
            if trouve is not None:
                entrees.append(vues.entree_file(*trouve, jour, categories))
        entrees = vues.ordonner(entrees)
        a_valider = [e for e in entrees if e.statut == StatutBrouillon.A_VALIDER.value]
        suivis = [e for e in entrees if e.statut != StatutBrouillon.A_VALIDER.value]
        return rendre(request, "file.html.j2", a_valider=a_valider, suivis=suivis)

    # --- Un courrier ----------------------------------------------------------------------------

    def _courrier(numero: str) -> Any:
        courrier = reg.courrier(numero[:16])
        if courrier is None:
            raise Refuse(404, f"Le courrier {numero[:16]} n'est pas au registre.")
        return courrier

    def _page_courrier(
        request: Request, numero: str, erreur: str = "", statut: int = 200
    ) -> Response:
        c = _courrier(numero)
        pages = 0
        if c.canal == "scan":
            try:
                pages = nombre_de_pages(reg.archive.lire(c.empreinte))
            except RegistreErreur:
                pages = 0
        return rendre(
            request,
            "courrier.html.j2",
            statut,
            erreur=erreur,
            c=c,
            canal=vues.LIBELLES_CANAL.get(c.canal, c.canal),
            statut_courrier=vues.LIBELLES_STATUT_COURRIER.get(c.statut, c.statut),
            pages=pages,
            ia=vues.analyse_par_ia(c),
            alertes=vues.alertes(c),
            echeance=vues.echeance(c, aujourd_hui()),
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
        )

    @app.get("/courrier/{numero}")
    def courrier(request: Request, numero: str) -> Response:
        return _page_courrier(request, numero)

    @app.post("/courrier/{numero}/classement")
    def corriger_classement(
        request: Request,
        numero: str,
        csrf: Annotated[str, Form()] = "",
        categorie: Annotated[str, Form()] = "",
        service: Annotated[str, Form()] = "",
        urgence: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_csrf(request, csrf)
        c = _courrier(numero)
        try:
            changes = reg.corriger_analyse(
                c.numero,
                ouverte.compte.nom,
                categorie=categorie or None,
                service=service,
                urgence=urgence or None,
            )
        except RegistreErreur as e:
            return _page_courrier(request, c.numero, str(e), 400)
        fait = "classement" if changes else "classement_inchange"
        return RedirectResponse(f"/courrier/{c.numero}?fait={fait}#analyse", status_code=303)

    @app.get("/courrier/{numero}/original")
    def original(request: Request, numero: str) -> Response:
        c = _courrier(numero)
        defaut = f"courrier-{c.numero}" + (".eml" if c.canal != "scan" else "")
        nom = vues.nom_de_fichier_sur(c.nom_fichier, defaut) if c.nom_fichier else defaut
        return _piece_jointe(reg.archive.lire(c.empreinte), nom)

    @app.get("/courrier/{numero}/piece/{rang}")
    def piece(request: Request, numero: str, rang: int) -> Response:
        c = _courrier(numero)
        for p in c.pieces:
            if p.rang == rang:
                nom = vues.nom_de_fichier_sur(p.nom, f"piece-{rang}")
                return _piece_jointe(reg.archive.lire(p.empreinte), nom)
        raise Refuse(404, "Cette pièce jointe n'existe pas.")

    @lru_cache(maxsize=32)
    def _png(empreinte: str, page: int) -> bytes:
        # Le rendu d'une page coûte ~0,2 s ; le même courrier est souvent rouvert.
        return page_png(reg.archive.lire(empreinte), page)

    @app.get("/courrier/{numero}/page/{page}")
    def page_numerisee(request: Request, numero: str, page: int) -> Response:
        c = _courrier(numero)
        if c.canal != "scan":
            raise Refuse(404, "Ce courrier n'est pas une lettre numérisée.")
        try:
            png = _png(c.empreinte, page)
        except ImageErreur as e:
            raise Refuse(404, str(e)) from e
        return Response(png, media_type="image/png", headers={"Cache-Control": "private"})

    # --- Un brouillon ---------------------------------------------------------------------------

    def _brouillon(ident: int) -> Any:
        trouve = reg.brouillon(ident)
        if trouve is None:
            raise Refuse(404, f"Le brouillon n°{ident} n'existe pas.")
        return trouve

    def _adresse_postale(c: Any) -> str:
        from courrier.lettre import adresse_postale

        return str(adresse_postale(c))

    def _page_brouillon(
        request: Request,
        ident: int,
        erreur: str = "",
        statut: int = 200,
        objet: str | None = None,
        corps: str | None = None,
        adresse: str | None = None,
    ) -> Response:
        c, b = _brouillon(ident)
        modifiable = b.statut in (
            StatutBrouillon.A_VALIDER.value,
            StatutBrouillon.VALIDE.value,
            StatutBrouillon.NON_REMIS.value,
        )
        return rendre(
            request,
            "brouillon.html.j2",
            statut,
            erreur=erreur,
            c=c,
            b=b,
            type_brouillon=vues.LIBELLES_BROUILLON.get(b.type, b.type),
            libelle_statut=vues.libelle_statut_brouillon(b.statut),
            ia=vues.prepare_par_ia(c, b),
            alertes=vues.alertes(c),
            echeance=vues.echeance(c, aujourd_hui()),
            modifiable=modifiable,
            objet=b.objet if objet is None else objet,
            corps=b.corps if corps is None else corps,
            adresse=_adresse_postale(c) if adresse is None else adresse,
            adresse_courriel=_adresse_courriel(c, b),
            lettre_a_produire=b.statut == StatutBrouillon.VALIDE.value and b.mode == "papier",
        )

    def _adresse_courriel(c: Any, b: Any) -> str:
        from registre.registre import adresse_de_reponse

        return adresse_de_reponse(c, b)

    def _produire_lettre(ident: int, nom: str, adresse: str) -> None:
        from courrier.lettre import composer_lettre, decouper_brouillon

        c, b = _brouillon(ident)
        commune = reglages.commune_de_la_mairie()
        # Le brouillon est écrit comme une lettre complète : la lettre PDF place elle-même
        # l'en-tête, l'adresse (dans la fenêtre), l'objet et la signature.
        objet, corps = decouper_brouillon(b.corps, commune)
        pdf = composer_lettre(
            commune,
            adresse.strip(),
            objet or b.objet,
            corps,
            le=aujourd_hui(),
            reference=c.numero,
        )
        reg.consigner_lettre(ident, nom, pdf)

    @app.get("/brouillon/{ident}")
    def brouillon(request: Request, ident: int) -> Response:
        return _page_brouillon(request, ident)

    @app.post("/brouillon/{ident}")
    def decider(
        request: Request,
        ident: int,
        taches: BackgroundTasks,
        csrf: Annotated[str, Form()] = "",
        action: Annotated[str, Form()] = "",
        objet: Annotated[str, Form()] = "",
        corps: Annotated[str, Form()] = "",
        adresse: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_csrf(request, csrf)
        nom = ouverte.compte.nom
        try:
            if action == "enregistrer":
                change = reg.modifier_brouillon(ident, nom, objet, corps)
                fait = "enregistre" if change else "inchange"
                return RedirectResponse(f"/brouillon/{ident}?fait={fait}", status_code=303)
            if action == "valider":
                reg.valider_brouillon(ident, nom, "courriel", objet, corps)
                taches.add_task(envoyer_en_tache, reg, reglages, ident)
                return RedirectResponse("/?fait=valide", status_code=303)
            if action == "papier":
                if not adresse.strip():
                    raise RegistreErreur("Indiquez l'adresse postale du destinataire.")
                reg.valider_brouillon(ident, nom, "papier", objet, corps)
                _produire_lettre(ident, nom, adresse)
                return RedirectResponse(f"/brouillon/{ident}?fait=lettre", status_code=303)
        except RegistreErreur as e:
            return _page_brouillon(request, ident, str(e), 409, objet, corps, adresse)
        raise Refuse(400, "Action inconnue.")

    @app.post("/brouillon/{ident}/lettre")
    def produire_lettre(
        request: Request,
        ident: int,
        csrf: Annotated[str, Form()] = "",
        adresse: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_csrf(request, csrf)
        try:
            if not adresse.strip():
                raise RegistreErreur("Indiquez l'adresse postale du destinataire.")
            _produire_lettre(ident, ouverte.compte.nom, adresse)
        except RegistreErreur as e:
            return _page_brouillon(request, ident, str(e), 409, adresse=adresse)
        return RedirectResponse(f"/brouillon/{ident}?fait=lettre", status_code=303)

    @app.get("/brouillon/{ident}/lettre.pdf")
    def lettre_pdf(request: Request, ident: int) -> Response:
        c, b = _brouillon(ident)
        if not b.lettre_empreinte:
            raise Refuse(404, "Aucune lettre n'a été produite pour ce brouillon.")
        return _piece_jointe(
            reg.archive.lire(b.lettre_empreinte), f"lettre-{c.numero}.pdf", "application/pdf"
        )

    @app.post("/brouillon/{ident}/rejeter")
    def rejeter(
        request: Request,
        ident: int,
        csrf: Annotated[str, Form()] = "",
        raison: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_csrf(request, csrf)
        try:
            reg.rejeter_brouillon(ident, ouverte.compte.nom, raison)
        except RegistreErreur as e:
            return _page_brouillon(request, ident, str(e), 409)
        return RedirectResponse("/?fait=rejete", status_code=303)

    @app.post("/brouillon/{ident}/verification")
    def verification(
        request: Request,
        ident: int,
        taches: BackgroundTasks,
        csrf: Annotated[str, Form()] = "",
        parti: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_csrf(request, csrf)
        if parti not in ("oui", "non"):
            raise Refuse(400, "Dites si la réponse est partie ou non.")
        try:
            reg.verification_faite(ident, ouverte.compte.nom, parti == "oui")
        except RegistreErreur as e:
            return _page_brouillon(request, ident, str(e), 409)
        if parti == "non":
            taches.add_task(envoyer_en_tache, reg, reglages, ident)
        return RedirectResponse(
            f"/?fait={'parti' if parti == 'oui' else 'renvoi'}", status_code=303
        )

    # --- Le registre ----------------------------------------------------------------------------

    def _filtres(request: Request) -> Filtres:
        q = request.query_params
        try:
            page = int(q.get("page", "1") or 1)
        except ValueError:
            page = 1
        categorie = q.get("categorie", "")
        statut = q.get("statut", "")
        return Filtres(
            texte=q.get("texte", "")[:200],
            expediteur=q.get("expediteur", "")[:200],
            categorie=categorie if categorie in categories else "",
            du=_date(q.get("du", ""), "du"),
            au=_date(q.get("au", ""), "au"),
            statut=statut if statut in {s.value for s in Statut} else "",
            page=page,
        )

    @app.get("/registre")
    def registre_page(request: Request) -> Response:
        f = _filtres(request)
        resultat = rechercher(reg.moteur, f)
        criteres = {
            k: v
            for k, v in {
                "texte": f.texte,
                "expediteur": f.expediteur,
                "categorie": f.categorie,
                "du": f.du.isoformat() if f.du else "",
                "au": f.au.isoformat() if f.au else "",
                "statut": f.statut,
            }.items()
            if v
        }
        return rendre(
            request,
            "registre.html.j2",
            f=f,
            r=resultat,
            criteres=urlencode(criteres),
            statuts=vues.LIBELLES_STATUT_COURRIER,
            canaux=vues.LIBELLES_CANAL,
        )

    @app.get("/registre/export")
    def registre_export(request: Request) -> Response:
        from registre.export import exporter

        format_ = request.query_params.get("format", "csv")
        if format_ not in ("csv", "xlsx"):
            raise Refuse(400, "Format d'export inconnu (csv ou xlsx).")
        courriers = pour_export(reg.moteur, _filtres(request))
        with tempfile.TemporaryDirectory(prefix="courrier-export-") as dossier:
            chemin = Path(dossier) / f"registre.{format_}"
            exporter(courriers, format_, chemin)
            contenu = chemin.read_bytes()
        types = {
            "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
        return _piece_jointe(contenu, f"registre-{aujourd_hui()}.{format_}", types[format_])

    # --- Administration -------------------------------------------------------------------------

    def _page_utilisateurs(request: Request, erreur: str = "", statut: int = 200) -> Response:
        return rendre(
            request,
            "utilisateurs.html.j2",
            statut,
            erreur=erreur,
            utilisateurs=comptes.lister(),
            roles=ROLES,
        )

    @app.get("/admin/utilisateurs")
    def utilisateurs(request: Request) -> Response:
        _exiger_admin(request)
        return _page_utilisateurs(request)

    @app.post("/admin/utilisateurs")
    def ajouter_utilisateur(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        nom: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        mot_de_passe: Annotated[str, Form()] = "",
        confirmation: Annotated[str, Form()] = "",
    ) -> Response:
        ouverte = _exiger_admin(request)
        _exiger_csrf(request, csrf)
        try:
            if mot_de_passe != confirmation:
                raise RegistreErreur("Les deux mots de passe ne sont pas identiques.")
            comptes.creer(nom, role, mot_de_passe, ouverte.compte.nom)
        except RegistreErreur as e:
            return _page_utilisateurs(request, str(e), 400)
        return RedirectResponse("/admin/utilisateurs?fait=compte_cree", status_code=303)

    @app.post("/admin/utilisateurs/{nom}/desactiver")
    def desactiver_utilisateur(
        request: Request, nom: str, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        ouverte = _exiger_admin(request)
        _exiger_csrf(request, csrf)
        try:
            if nom.strip().lower() == ouverte.compte.nom:
                raise RegistreErreur("Vous ne pouvez pas désactiver votre propre compte.")
            comptes.desactiver(nom, ouverte.compte.nom)
        except RegistreErreur as e:
            return _page_utilisateurs(request, str(e), 400)
        return RedirectResponse("/admin/utilisateurs?fait=compte_desactive", status_code=303)

    return app


def servir(reglages: Reglages, hote: str, port: int) -> None:
    """`courrier serveur` : la page web, jusqu'à Ctrl+C."""
    import uvicorn

    app = creer_app(reglages)
    uvicorn.run(app, host=hote, port=port, log_level="warning", proxy_headers=True)
