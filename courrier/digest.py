"""Le digest du maire : ce que la nuit a apporté, en un courriel lisible sur un téléphone.

Tout est pur ici : les lignes du registre arrivent déjà traduites en petits enregistrements
(`CourrierDigest`, `BrouillonEnAttente`, `ErreurGenerale`), le digest est un enregistrement
(`Digest`) que deux gabarits Jinja2 rendent en texte et en HTML, puis `composer_message` en
fait un `EmailMessage`. L'envoi (SMTP) et la lecture du registre vivent ailleurs
(`connecteurs/smtp.py`, `flows/digest.py`).

Le HTML ne charge rien de l'extérieur : styles en ligne, graphique joint au message et
désigné par `cid:`. Tout texte venu d'un courrier (objet, expéditeur, résumé) est échappé.
"""

from __future__ import annotations

import base64
import io
import math
import secrets
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2

from courrier.brouillons import mairie_de
from courrier.calendrier import JOURS, MOIS, PARIS, date_en_lettres, jour_de_paris
from courrier.domaine import NatureAutomatique

GABARITS = Path(__file__).resolve().parent / "gabarits"

ECHEANCE_PROCHE_J = 7  # une échéance à 7 jours ou moins est « proche »
# Au-delà, une échéance dépassée ne reparaît plus chaque matin : le registre la garde.
ECHEANCE_PASSEE_MAX_J = 30
# Un délai légal (décision implicite…) est signalé dès J-7, et en alerte rouge à J-2.
ALERTE_URGENTE_J = 2
RESUME_MAX = 220  # environ deux lignes sur un téléphone
# Gmail coupe un message de plus de 102 Ko ; au-delà de ce nombre de fiches, on renvoie au
# registre plutôt que de perdre la fin du digest.
FICHES_MAX = 60
GRAPHIQUE_JOURS = 30

LIBELLES_CANAL = {
    "email": ("courriel", "courriels"),
    "scan": ("lettre scannée", "lettres scannées"),
    "depot": ("fichier importé", "fichiers importés"),
}
LIBELLES_BROUILLON = {"reponse": "réponse", "accuse_reception": "accusé de réception"}
BROUILLONS_FEMININS = frozenset({"reponse"})
LIBELLES_STATUT_BROUILLON = {
    "a_valider": "à valider",
    "valide": "validé",
    "modifie": "modifié",
    "rejete": "rejeté",
    "en_envoi": "en cours d'envoi",
    "envoye": "envoyé",
    "a_verifier": "à vérifier (envoi interrompu)",
    "non_remis": "à vérifier (non remis)",
    "papier": "imprimé",
    "remplace": "remplacé (classement corrigé)",
}
LIBELLES_ALERTE = {
    "injection_suspectee": "tentative de manipulation suspectée",
    "a_verifier": "classement à vérifier",
    "llm_indisponible": "analysé sans l'IA (indisponible)",
    "llm_incoherent": "réponse de l'IA corrigée par les règles",
    "texte_absent": "aucun texte lisible",
}
# Une décision forcée est une règle voulue par l'intégrateur, pas un signal pour le maire.
ALERTES_SANS_SIGNAL = frozenset({"decision_forcee"})
ORDRE_URGENCE = {"haute": 0, "normale": 1, "basse": 2}
NOMS_SOURCES = {
    "imap": "Boîte IMAP",
    "depot_scans": "Dossier des scans",
    "depot_eml": "Dossier .eml / mbox",
}
NON_CLASSE = "Non classé"

# ---------------------------------------------------------------------------------------------
# Ce que le digest reçoit (jamais une ligne ORM)


@dataclass(frozen=True)
class CourrierDigest:
    """Ce que le digest lit d'un courrier du registre."""

    numero: str
    canal: str
    recu_le: datetime  # aware
    enregistre_le: datetime  # aware
    statut: str
    expediteur: str = ""
    objet: str = ""
    nom_fichier: str = ""
    categorie: str = ""
    service: str = ""
    urgence: str = ""
    resume: str = ""
    echeance: date | None = None
    alertes: tuple[str, ...] = ()
    erreur: str = ""
    brouillons: tuple[tuple[str, str], ...] = ()  # (type, statut) de chaque brouillon
    automatique: str = ""  # NatureAutomatique : une absence ou un avis n'est pas compté
    # Les délais légaux (courrier/delais.py) : (libellé, jour), les délais suspendus exclus.
    delais_legaux: tuple[tuple[str, date], ...] = ()


@dataclass(frozen=True)
class BrouillonEnAttente:
    numero: str
    type: str
    cree_le: datetime  # aware
    objet: str = ""
    expediteur: str = ""
    urgence: str = ""
    statut: str = "a_valider"  # ou « non_remis » : la réponse est revenue en erreur
    raison: str = ""


@dataclass(frozen=True)
class ErreurGenerale:
    """Un événement « erreur » du journal qui ne concerne aucun courrier (source en panne…)."""

    horodatage: datetime  # aware
    details: Mapping[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Le digest, prêt à rendre


@dataclass(frozen=True)
class Compte:
    libelle: str
    nombre: int


@dataclass(frozen=True)
class Fiche:
    """Un courrier de la nuit tel que le maire le lit."""

    numero: str
    lien: str | None
    expediteur: str
    objet: str
    resume: str
    service: str
    categorie: str
    canal: str
    recu: str  # « 23/11 à 01:12 »
    echeance: str  # « J-2 (25/11/2026) », « dépassée de 3 j (20/11/2026) » ou vide
    echeance_depassee: bool
    brouillons: str  # « accusé de réception : à valider » ou « aucun brouillon »
    raisons: tuple[str, ...]  # pourquoi il est en tête : « urgent », « institution »…
    urgent: bool
    en_erreur: bool


@dataclass(frozen=True)
class LigneBrouillon:
    numero: str
    lien: str | None
    type: str
    objet: str
    expediteur: str
    depuis: str  # « depuis 3 j », « depuis hier », « depuis aujourd'hui »
    jours: int
    urgent: bool
    etat: str = ""  # « à vérifier : non remis à … » ; vide pour un brouillon à valider


@dataclass(frozen=True)
class LigneEcheance:
    numero: str
    lien: str | None
    objet: str
    expediteur: str
    service: str
    date: str  # « 25/11/2026 »
    j: str  # « J-2 », « J », « dépassée de 3 j »
    depassee: bool
    nature: str = ""  # vide : l'échéance annoncée par le courrier ; sinon le délai légal
    alerte: str = ""  # « J-7 », « J-2 » : un délai légal qui approche


@dataclass(frozen=True)
class LigneErreur:
    numero: str
    lien: str | None
    texte: str


@dataclass(frozen=True)
class Digest:
    jour: date
    commune: str
    mairie: str  # « Mairie de Saint-Aubin »
    titre: str  # « Courrier du lundi 23 novembre 2026 »
    objet: str  # l'en-tête Subject
    apercu: str  # la ligne que la boîte de réception montre sous l'objet
    periode: str  # « depuis le dimanche 22 novembre à 07:30 »
    nouveaux: int
    urgents: int
    par_canal: tuple[Compte, ...]
    par_categorie: tuple[Compte, ...]
    prioritaires: tuple[Fiche, ...]
    autres: tuple[Fiche, ...]
    non_montres: int  # fiches au-delà de FICHES_MAX
    brouillons: tuple[LigneBrouillon, ...]
    echeances: tuple[LigneEcheance, ...]
    erreurs: tuple[LigneErreur, ...]
    url_publique: str | None
    # L'empreinte de tête du registre horodatée ce matin (RFC 3161), ou pourquoi elle ne l'est pas.
    ancre: str = ""
    automatiques: int = 0  # absences et avis de non-remise de la nuit, hors des comptes

    @property
    def rien_de_nouveau(self) -> bool:
        return self.nouveaux == 0


# ---------------------------------------------------------------------------------------------
# Construction


def j_moins(echeance: date, jour: date) -> str:
    """« J-3 » trois jours avant, « J » le jour même, « dépassée de 2 j » après."""
    ecart = (echeance - jour).days
    if ecart > 0:
        return f"J-{ecart}"
    if ecart == 0:
        return "J"
    return f"dépassée de {-ecart} j"


def lien_courrier(url_publique: str | None, numero: str) -> str | None:
    if not url_publique:
        return None
    return f"{url_publique.rstrip('/')}/courrier/{numero}"


def une_ligne(texte: str, longueur: int) -> str:
    """Un texte venu d'ailleurs, sur une ligne, sans caractères de contrôle ni de direction."""
    propre = " ".join("".join(c if c.isprintable() else " " for c in texte).split())
    if len(propre) <= longueur:
        return propre
    coupe = propre[: longueur - 1]
    if " " in coupe[longueur // 2 :]:
        coupe = coupe.rsplit(" ", 1)[0]
    return coupe.rstrip(" ,;:.") + "…"


def nom_court(expediteur: str) -> str:
    """« Camille Lefèvre <c.l@exemple.example> » devient « Camille Lefèvre »."""
    nom = expediteur.split("<", 1)[0].strip()
    if len(nom) > 1 and nom[0] == nom[-1] == '"':
        nom = nom[1:-1].strip()
    return une_ligne(nom or expediteur.strip().strip("<>"), 80) or "expéditeur inconnu"


def pluriel(n: int, singulier: str, pluriel_: str) -> str:
    return f"{n} {singulier if n <= 1 else pluriel_}"


def _date_courte(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def hors_des_comptes(c: CourrierDigest) -> bool:
    return bool(c.automatique) and NatureAutomatique(c.automatique).hors_des_comptes


def _signaux(c: CourrierDigest) -> tuple[str, ...]:
    raisons = []
    if c.urgence == "haute":
        raisons.append("urgent")
    if c.categorie == "institutions":
        raisons.append("institution")
    for alerte in c.alertes:
        if alerte and alerte not in ALERTES_SANS_SIGNAL:
            raisons.append(LIBELLES_ALERTE.get(alerte, alerte.replace("_", " ")))
    return tuple(raisons)


def _ordre_fiche(c: CourrierDigest) -> tuple[int, int, str]:
    return (
        ORDRE_URGENCE.get(c.urgence, 1),
        0 if c.categorie == "institutions" else 1,
        c.numero,
    )


def _etat_brouillon(type_: str, statut: str) -> str:
    """« réponse à valider », « accusé de réception envoyé », « réponse envoyée »."""
    libelle = LIBELLES_BROUILLON.get(type_, type_.replace("_", " "))
    etat = LIBELLES_STATUT_BROUILLON.get(statut, statut.replace("_", " "))
    if type_ in BROUILLONS_FEMININS and etat.endswith("é"):
        etat += "e"
    return f"{libelle} {etat}"


def _etat_brouillons(brouillons: Sequence[tuple[str, str]]) -> str:
    if not brouillons:
        return "aucun brouillon"
    return " ; ".join(_etat_brouillon(t, s) for t, s in brouillons)


def _fiche(c: CourrierDigest, jour: date, url: str | None, libelles: Mapping[str, str]) -> Fiche:
    en_erreur = c.statut == "erreur"
    resume = c.resume or (f"Lecture impossible : {c.erreur}" if en_erreur and c.erreur else "")
    objet = c.objet or (f"(fichier {c.nom_fichier})" if c.nom_fichier else "(sans objet)")
    recu = c.recu_le.astimezone(PARIS)
    echeance = ""
    if c.echeance is not None:
        echeance = f"{j_moins(c.echeance, jour)} ({_date_courte(c.echeance)})"
    return Fiche(
        numero=c.numero,
        lien=lien_courrier(url, c.numero),
        expediteur=nom_court(c.expediteur),
        objet=une_ligne(objet, 200),
        resume=une_ligne(resume, RESUME_MAX),
        service=une_ligne(c.service, 80),
        categorie=_libelle_categorie(c.categorie, libelles),
        canal=LIBELLES_CANAL.get(c.canal, (c.canal, c.canal))[0],
        recu=f"{recu:%d/%m} à {recu:%H:%M}",
        echeance=echeance,
        echeance_depassee=c.echeance is not None and c.echeance < jour,
        brouillons=_etat_brouillons(c.brouillons),
        raisons=_signaux(c),
        urgent=c.urgence == "haute",
        en_erreur=en_erreur,
    )


def _libelle_categorie(categorie: str, libelles: Mapping[str, str]) -> str:
    if not categorie:
        return NON_CLASSE
    return libelles.get(categorie, categorie.replace("_", " ").capitalize())


def _depuis(jours: int) -> str:
    if jours <= 0:
        return "depuis aujourd'hui"
    if jours == 1:
        return "depuis hier"
    return f"depuis {jours} j"


def _texte_erreur_generale(e: ErreurGenerale) -> str:
    d = e.details
    raison = une_ligne(str(d.get("raison") or ""), 200)
    source = str(d.get("source") or "")
    if source:
        return f"{NOMS_SOURCES.get(source, source)} : {raison or 'en panne'}"
    if d.get("etape") == "annule" and d.get("jour"):
        try:
            quand = _date_courte(date.fromisoformat(str(d["jour"])))
        except ValueError:
            quand = str(d["jour"])
        return f"Digest du {quand} non envoyé : {raison or 'erreur d’envoi'}"
    return raison or "Erreur sans détail (voir le journal)."


def _periode(depuis: datetime, jour: date) -> str:
    moment = depuis.astimezone(PARIS)
    d = moment.date()
    if d == jour - timedelta(days=1):
        quand = "hier"
    elif d == jour:
        quand = "ce matin" if moment.hour < 12 else "aujourd'hui"
    else:
        jour_fr = "1er" if d.day == 1 else str(d.day)
        quand = f"le {JOURS[d.weekday()]} {jour_fr} {MOIS[d.month - 1]}"
    return f"depuis {quand} à {moment:%H:%M}"


def construire_digest(
    courriers: Iterable[CourrierDigest],
    brouillons_en_attente: Iterable[BrouillonEnAttente],
    erreurs: Iterable[ErreurGenerale],
    jour: date,
    url_publique: str | None,
    commune: str,
    *,
    depuis: datetime,
    libelles: Mapping[str, str] | None = None,
) -> Digest:
    """Le digest du `jour` : les courriers enregistrés depuis `depuis` (la nuit), les
    brouillons en attente, les échéances proches ou dépassées de tout le registre, les erreurs.

    `courriers` : tout le registre utile (la nuit et les courriers à échéance) ;
    `libelles` : identifiant de catégorie → libellé (regles/categories.yaml).
    """
    libelles = libelles or {}
    tous = list(courriers)
    nuit = sorted((c for c in tous if c.enregistre_le >= depuis), key=_ordre_fiche)
    # Absences et avis de non-remise : au registre, pas dans le courrier des administrés.
    automatiques = sum(1 for c in nuit if hors_des_comptes(c))
    nuit = [c for c in nuit if not hors_des_comptes(c)]

    prioritaires = [c for c in nuit if _signaux(c)]
    autres = [c for c in nuit if not _signaux(c)]
    place = max(0, FICHES_MAX - len(prioritaires))
    non_montres = max(0, len(autres) - place)
    autres = autres[:place]

    canaux = Counter(c.canal for c in nuit)
    par_canal = tuple(
        Compte(
            LIBELLES_CANAL.get(canal, (canal, canal))[0 if n <= 1 else 1],
            n,
        )
        for canal, n in sorted(canaux.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    categories = Counter(_libelle_categorie(c.categorie, libelles) for c in nuit)
    par_categorie = tuple(
        Compte(libelle, n)
        for libelle, n in sorted(
            categories.items(), key=lambda kv: (-kv[1], sans_accents(kv[0]).casefold())
        )
    )

    urgences = {c.numero: c.urgence for c in tous}
    lignes_brouillons = []
    for b in brouillons_en_attente:
        jours = max(0, (jour - jour_de_paris(b.cree_le)).days)
        lignes_brouillons.append(
            LigneBrouillon(
                numero=b.numero,
                lien=lien_courrier(url_publique, b.numero),
                type=LIBELLES_BROUILLON.get(b.type, b.type),
                objet=une_ligne(b.objet or "(sans objet)", 120),
                expediteur=nom_court(b.expediteur),
                depuis=_depuis(jours),
                jours=jours,
                urgent=(b.urgence or urgences.get(b.numero)) == "haute",
                etat=une_ligne(f"à vérifier : {b.raison}", 240) if b.statut == "non_remis" else "",
            )
        )
    # Les plus anciens d'abord : ce sont eux qui font courir les délais.
    lignes_brouillons.sort(key=lambda b: (-b.jours, not b.urgent, b.numero))

    echeances = []
    for c in tous:
        a_suivre = [("", c.echeance)] if c.echeance is not None else []
        # Un accusé de réception n'arrête pas un délai légal : seule la réponse le tient.
        if not any(t == "reponse" and statut == "envoye" for t, statut in c.brouillons):
            a_suivre += list(c.delais_legaux)
        for nature, le in a_suivre:
            ecart = (le - jour).days
            if ecart > ECHEANCE_PROCHE_J or ecart < -ECHEANCE_PASSEE_MAX_J:
                continue
            if not nature and any(statut == "envoye" for _, statut in c.brouillons):
                continue  # la réponse est partie : l'échéance est tenue
            alerte = ""
            if nature and ecart >= 0:
                alerte = "J-2" if ecart <= ALERTE_URGENTE_J else "J-7"
            echeances.append(
                (
                    le,
                    c.numero,
                    LigneEcheance(
                        numero=c.numero,
                        lien=lien_courrier(url_publique, c.numero),
                        objet=une_ligne(c.objet or "(sans objet)", 120),
                        expediteur=nom_court(c.expediteur),
                        service=une_ligne(c.service, 80),
                        date=_date_courte(le),
                        j=j_moins(le, jour),
                        depassee=ecart < 0,
                        nature=nature,
                        alerte=alerte,
                    ),
                )
            )
    echeances.sort(key=lambda e: (e[0], e[1]))

    lignes_erreurs = [
        LigneErreur(
            c.numero,
            lien_courrier(url_publique, c.numero),
            une_ligne(c.erreur or "lecture impossible", 200),
        )
        for c in sorted(nuit, key=lambda c: c.numero)
        if c.statut == "erreur"
    ]
    lignes_erreurs += [
        LigneErreur("", None, _texte_erreur_generale(e))
        for e in sorted(erreurs, key=lambda e: e.horodatage)
        # Un essai manqué du digest de ce même jour n'intéresse pas son lecteur.
        if e.horodatage >= depuis and str(e.details.get("jour")) != jour.isoformat()
    ]

    nouveaux = len(nuit)
    urgents = sum(1 for c in nuit if c.urgence == "haute")
    titre = f"Courrier du {date_en_lettres(jour, jour_semaine=True)}"
    if nouveaux:
        resume_objet = pluriel(nouveaux, "nouveau", "nouveaux")
        if urgents:
            resume_objet += ", " + pluriel(urgents, "urgent", "urgents")
    else:
        resume_objet = "rien de nouveau"
    apercu = [
        pluriel(nouveaux, "courrier", "courriers") + " cette nuit"
        if nouveaux
        else "Rien de nouveau"
    ]
    if prioritaires:
        apercu.append(f"{len(prioritaires)} à voir en priorité")
    if lignes_brouillons:
        apercu.append(pluriel(len(lignes_brouillons), "brouillon", "brouillons") + " en attente")
    return Digest(
        jour=jour,
        commune=une_ligne(commune, 120),
        mairie=mairie_de(commune),
        titre=titre,
        objet=f"{titre} : {resume_objet}",
        apercu=", ".join(apercu) + ".",
        periode=_periode(depuis, jour),
        nouveaux=nouveaux,
        urgents=urgents,
        par_canal=par_canal,
        par_categorie=par_categorie,
        prioritaires=tuple(_fiche(c, jour, url_publique, libelles) for c in prioritaires),
        autres=tuple(_fiche(c, jour, url_publique, libelles) for c in autres),
        non_montres=non_montres,
        brouillons=tuple(lignes_brouillons),
        echeances=tuple(ligne for _, _, ligne in echeances),
        erreurs=tuple(lignes_erreurs),
        url_publique=url_publique,
        automatiques=automatiques,
    )


# ---------------------------------------------------------------------------------------------
# Rendu


def _environnement() -> jinja2.Environment:
    # Échappement HTML pour le seul gabarit HTML : objets, noms et résumés viennent du dehors.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(GABARITS), encoding="utf-8"),
        autoescape=lambda nom: bool(nom and nom.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pluriel"] = pluriel
    return env


_ENV = _environnement()


def rendre_texte(d: Digest) -> str:
    texte = _ENV.get_template("digest.txt.j2").render(d=d)
    lignes = [ligne.rstrip() for ligne in texte.splitlines()]
    # Les blocs conditionnels laissent des lignes vides en série : une seule suffit.
    propre: list[str] = []
    for ligne in lignes:
        if ligne or (propre and propre[-1]):
            propre.append(ligne)
    return "\n".join(propre).strip() + "\n"


def rendre_html(d: Digest, image: str | None = None) -> str:
    """`image` : la source du graphique (`cid:…` dans un courriel, `data:` dans un fichier)."""
    return _ENV.get_template("digest.html.j2").render(d=d, image=image)


def image_en_ligne(png: bytes) -> str:
    """Le graphique dans le HTML lui-même, pour un fichier ouvert dans un navigateur."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def identifiant(prefixe: str, domaine: str) -> str:
    """Un Message-ID court : un en-tête replié sur deux lignes gêne certains logiciels."""
    return f"<{prefixe}.{secrets.token_hex(8)}@{domaine}>"


def composer_message(
    d: Digest,
    expediteur: str,
    destinataires: Sequence[str],
    graphique_png: bytes | None,
    *,
    maintenant: datetime | None = None,
) -> EmailMessage:
    """multipart/alternative : texte, puis HTML (en multipart/related avec le graphique)."""
    domaine = expediteur.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = d.objet
    message["From"] = Address(display_name=f"Courrier – {d.mairie}", addr_spec=expediteur)
    message["To"] = ", ".join(destinataires)
    message["Date"] = format_datetime((maintenant or datetime.now(UTC)).astimezone(PARIS))
    message["Message-ID"] = identifiant(f"digest.{d.jour:%Y%m%d}", domaine)
    message["Content-Language"] = "fr"
    # Les répondeurs automatiques (absences, Outlook) ne répondent pas à un envoi automatique.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"

    cid = identifiant("graphique", domaine) if graphique_png else None
    message.set_content(rendre_texte(d), subtype="plain", cte="quoted-printable")
    message.add_alternative(
        rendre_html(d, f"cid:{cid[1:-1]}" if cid else None),
        subtype="html",
        cte="quoted-printable",
    )
    if graphique_png and cid:
        partie_html = next(p for p in message.iter_parts() if p.get_content_subtype() == "html")
        partie_html.add_related(
            graphique_png,
            maintype="image",
            subtype="png",
            cid=cid,
            disposition="inline",
            filename="volume-30-jours.png",
        )
    return message


# ---------------------------------------------------------------------------------------------
# Graphique

# Palette lisible par les daltoniens (Okabe-Ito, complétée), une couleur par rang de volume.
COULEURS = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
)
COULEUR_AUTRES = (150, 150, 150)
CATEGORIES_MONTREES = len(COULEURS)


def _police(taille: int) -> tuple[Any, bool]:
    """DejaVu Sans si le système l'a (accents compris), sinon la police de Pillow, sans accents."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", taille), True
    except OSError:
        return ImageFont.load_default(size=taille), False


def sans_accents(texte: str) -> str:
    decompose = unicodedata.normalize("NFKD", texte)
    return "".join(c for c in decompose if not unicodedata.combining(c))


def graphique_volumes(
    courriers: Iterable[CourrierDigest],
    jour: date,
    libelles: Mapping[str, str] | None = None,
) -> bytes | None:
    """Barres empilées : courriers reçus chaque jour des 30 derniers, par catégorie (PNG).

    None quand moins de deux jours ont du courrier : une barre seule n'apprend rien.
    """
    from PIL import Image, ImageDraw

    libelles = libelles or {}
    premier = jour - timedelta(days=GRAPHIQUE_JOURS - 1)
    volumes: dict[date, Counter[str]] = {}
    for c in courriers:
        d = jour_de_paris(c.recu_le)
        if premier <= d <= jour and not hors_des_comptes(c):
            volumes.setdefault(d, Counter())[_libelle_categorie(c.categorie, libelles)] += 1
    if len(volumes) < 2:
        return None

    totaux: Counter[str] = Counter()
    for compte in volumes.values():
        totaux.update(compte)
    classement = [libelle for libelle, _ in totaux.most_common()]
    montrees = classement[:CATEGORIES_MONTREES]
    if len(classement) > CATEGORIES_MONTREES:  # la dernière couleur devient « autres »
        montrees = classement[: CATEGORIES_MONTREES - 1]
    couleurs = {libelle: COULEURS[i] for i, libelle in enumerate(montrees)}

    # Dessiné au double de sa taille d'affichage (560 px) : net sur un écran de téléphone.
    echelle = 2
    largeur, marge_g, marge_d, haut_barres = 560 * echelle, 36 * echelle, 8 * echelle, 150
    haut_barres *= echelle
    police, accents = _police(11 * echelle)
    lignes_legende = math.ceil((len(montrees) + (len(classement) > len(montrees))) / 2)
    hauteur = 16 * echelle + haut_barres + 22 * echelle + lignes_legende * 18 * echelle
    image = Image.new("RGB", (largeur, hauteur), (255, 255, 255))
    dessin = ImageDraw.Draw(image)

    haut = 12 * echelle
    bas = haut + haut_barres
    maximum = max(sum(c.values()) for c in volumes.values())
    graduation = max(1, math.ceil(maximum / 4))
    plafond = graduation * math.ceil(maximum / graduation)
    for valeur in range(0, plafond + 1, graduation):
        y = bas - round(valeur / plafond * haut_barres)
        dessin.line([(marge_g, y), (largeur - marge_d, y)], fill=(225, 225, 225), width=echelle)
        dessin.text(
            (marge_g - 6 * echelle, y), str(valeur), fill=(80, 80, 80), font=police, anchor="rm"
        )

    pas = (largeur - marge_g - marge_d) / GRAPHIQUE_JOURS
    for i in range(GRAPHIQUE_JOURS):
        d = premier + timedelta(days=i)
        x0 = marge_g + i * pas + pas * 0.15
        x1 = marge_g + (i + 1) * pas - pas * 0.15
        sommet = float(bas)
        compte = volumes.get(d, Counter())
        for libelle in [*montrees, None]:
            if libelle is None:
                n = sum(v for k, v in compte.items() if k not in couleurs)
                couleur = COULEUR_AUTRES
            else:
                n = compte.get(libelle, 0)
                couleur = couleurs[libelle]
            if n:
                hauteur_n = n / plafond * haut_barres
                dessin.rectangle([x0, sommet - hauteur_n, x1, sommet - 1], fill=couleur)
                sommet -= hauteur_n
        dernier = i == GRAPHIQUE_JOURS - 1
        if d.weekday() == 0 or dernier:  # les lundis, et le jour même
            dessin.text(
                (x1 + pas * 0.15 if dernier else (x0 + x1) / 2, bas + 4 * echelle),
                f"{d:%d/%m}",
                fill=(60, 60, 60),
                font=police,
                anchor="rt" if dernier else "mt",
            )

    entrees = [(libelle, couleurs[libelle]) for libelle in montrees]
    if len(classement) > len(montrees):
        entrees.append(("Autres catégories", COULEUR_AUTRES))
    y_legende = bas + 22 * echelle
    colonne = (largeur - marge_g) // 2
    for k, (libelle, couleur) in enumerate(entrees):
        x = marge_g + (k % 2) * colonne
        y = y_legende + (k // 2) * 18 * echelle
        dessin.rectangle([x, y + 2 * echelle, x + 10 * echelle, y + 12 * echelle], fill=couleur)
        texte = une_ligne(libelle, 44)
        if not accents:
            texte = sans_accents(texte)
        dessin.text((x + 15 * echelle, y), texte, fill=(40, 40, 40), font=police)

    sortie = io.BytesIO()
    image.save(sortie, format="PNG", optimize=True)
    return sortie.getvalue()
