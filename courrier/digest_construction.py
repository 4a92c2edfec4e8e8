"""La construction du digest du maire : les courriers de la nuit, urgents d'abord, les
brouillons en attente, les échéances proches ou dépassées et les erreurs, en un `Digest`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from courrier.brouillons import mairie_de
from courrier.digest_donnees import (
    BrouillonEnAttente,
    Compte,
    CourrierDigest,
    Digest,
    ErreurGenerale,
    Fiche,
    LigneBrouillon,
    LigneEcheance,
    LigneErreur,
)
from courrier.digest_libelles import (
    BROUILLONS_FEMININS,
    LIBELLES_ALERTE,
    LIBELLES_BROUILLON,
    LIBELLES_CANAL,
    LIBELLES_STATUT_BROUILLON,
    NOMS_SOURCES,
    date_courte,
    j_moins,
    libelle_categorie,
    lien_courrier,
    nom_court,
    pluriel,
    sans_accents,
    une_ligne,
)
from noyau.calendrier import JOURS, MOIS, PARIS, date_en_lettres, jour_de_paris
from noyau.domaine import NatureAutomatique

ECHEANCE_PROCHE_J = 7  # une échéance à 7 jours ou moins est « proche »
# Au-delà, une échéance dépassée ne reparaît plus chaque matin : le registre la garde.
ECHEANCE_PASSEE_MAX_J = 30
# Un délai légal (décision implicite…) est signalé dès J-7, et en alerte rouge à J-2.
ALERTE_URGENTE_J = 2
RESUME_MAX = 220  # environ deux lignes sur un téléphone
# Gmail coupe un message de plus de 102 Ko ; au-delà de ce nombre de fiches, on renvoie au
# registre plutôt que de perdre la fin du digest.
FICHES_MAX = 60
# Une décision forcée est une règle voulue par l'intégrateur, pas un signal pour le maire.
ALERTES_SANS_SIGNAL = frozenset({"decision_forcee"})
ORDRE_URGENCE = {"haute": 0, "normale": 1, "basse": 2}


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
        echeance = f"{j_moins(c.echeance, jour)} ({date_courte(c.echeance)})"
    return Fiche(
        numero=c.numero,
        lien=lien_courrier(url, c.numero),
        expediteur=nom_court(c.expediteur),
        objet=une_ligne(objet, 200),
        resume=une_ligne(resume, RESUME_MAX),
        service=une_ligne(c.service, 80),
        categorie=libelle_categorie(c.categorie, libelles),
        canal=LIBELLES_CANAL.get(c.canal, (c.canal, c.canal))[0],
        recu=f"{recu:%d/%m} à {recu:%H:%M}",
        echeance=echeance,
        echeance_depassee=c.echeance is not None and c.echeance < jour,
        brouillons=_etat_brouillons(c.brouillons),
        raisons=_signaux(c),
        urgent=c.urgence == "haute",
        en_erreur=en_erreur,
    )


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
            quand = date_courte(date.fromisoformat(str(d["jour"])))
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
    categories = Counter(libelle_categorie(c.categorie, libelles) for c in nuit)
    par_categorie = tuple(
        Compte(libelle, n)
        for libelle, n in sorted(
            categories.items(), key=lambda kv: (-kv[1], sans_accents(kv[0]).casefold())
        )
    )

    lignes_brouillons = _lignes_brouillons(brouillons_en_attente, tous, jour, url_publique)
    echeances = _lignes_echeances(tous, jour, url_publique)

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
        echeances=echeances,
        erreurs=tuple(lignes_erreurs),
        url_publique=url_publique,
        automatiques=automatiques,
    )


def _lignes_brouillons(
    brouillons_en_attente: Iterable[BrouillonEnAttente],
    tous: list[CourrierDigest],
    jour: date,
    url_publique: str | None,
) -> list[LigneBrouillon]:
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

    return lignes_brouillons


def _lignes_echeances(
    tous: list[CourrierDigest], jour: date, url_publique: str | None
) -> tuple[LigneEcheance, ...]:
    """Les échéances proches ou dépassées de tout le registre, la plus proche d'abord."""
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
                        date=date_courte(le),
                        j=j_moins(le, jour),
                        depassee=ecart < 0,
                        nature=nature,
                        alerte=alerte,
                    ),
                )
            )
    echeances.sort(key=lambda e: (e[0], e[1]))
    return tuple(ligne for _, _, ligne in echeances)
