"""Deux « nuits » de courriers pour mesurer l'apprentissage (tests/test_apprentissage.py et
`preuves/apprentissage.py`).

Chaque sujet a plusieurs gabarits de phrases, des expéditeurs, des voies et des détails tirés
au sort : une nuit de graine 1 et une nuit de graine 2 n'ont aucune lettre en commun (vérifié
par `nuits`). Les sujets sont des affaires de mairie au vocabulaire local que les règles
livrées connaissent mal (assainissement non collectif, jardins familiaux, divagation
d'animaux, fibre, colis de la banque alimentaire…) et quelques sujets qu'elles connaissent
bien (témoins). La « vérité » est le classement que la secrétaire de cette mairie retient.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from noyau.analyse import CourrierALire
from noyau.domaine import (
    Canal,
    ElementRecu,
    EntetesCourrier,
    ResultatExtraction,
    StatutBrouillon,
)
from registre.apprentissage import Rediger, corriger
from registre.registre import Registre

ARRIVEE = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sujet:
    nom: str
    categorie: str
    urgence: str
    reponse_attendue: bool
    objets: tuple[str, ...]
    phrases: tuple[str, ...]  # on en tire trois, dans l'ordre
    domaines: tuple[str, ...] = ("courriel.example",)


SUJETS = (
    Sujet(
        "spanc",
        "urbanisme",
        "normale",
        True,
        (
            "Contrôle de mon installation d'assainissement non collectif",
            "Fosse septique au {numero} {voie}",
            "Diagnostic SPANC avant la vente",
        ),
        (
            "Le technicien du SPANC doit passer contrôler ma fosse toutes eaux.",
            "Notre fosse septique déborde depuis les fortes pluies de {mois}.",
            "Le notaire réclame le rapport de conformité de l'assainissement individuel.",
            "Pouvez-vous m'indiquer la date de la prochaine vidange groupée ?",
            "Le filtre à sable de la micro-station semble colmaté.",
            "Je souhaite connaître le coût de la redevance d'assainissement non collectif.",
        ),
    ),
    Sujet(
        "jardins",
        "salles_associations",
        "basse",
        True,
        (
            "Parcelle aux jardins familiaux",
            "Jardins partagés du {voie}",
            "Demande de lopin de potager communal",
        ),
        (
            "Je souhaiterais obtenir une parcelle aux jardins familiaux pour la saison.",
            "Notre famille cultive déjà un potager mais nous manquons de place.",
            "La cabane à outils des jardins partagés ne ferme plus à clé.",
            "Le récupérateur d'eau de pluie de la parcelle {numero} fuit.",
            "Nous aimerions organiser un troc de semis entre jardiniers en {mois}.",
            "La liste d'attente des potagers est-elle encore ouverte ?",
        ),
    ),
    Sujet(
        "divagation",
        "tranquillite",
        "haute",
        True,
        (
            "Chevaux en divagation {voie}",
            "Vaches échappées sur la route",
            "Animaux en liberté près de l'école",
        ),
        (
            "Des chevaux errent sur la chaussée {voie} depuis ce matin.",
            "Un troupeau de vaches a forcé la clôture et traverse la départementale.",
            "Les moutons du voisin divaguent dans les jardins du lotissement.",
            "Un automobiliste a failli percuter un poulain au {numero} {voie}.",
            "Personne ne répond chez l'éleveur, les bêtes sont toujours dehors.",
            "Il faudrait prévenir la fourrière ou la gendarmerie au plus vite.",
        ),
    ),
    Sujet(
        "fibre",
        "urbanisme",
        "normale",
        True,
        (
            "Raccordement à la fibre optique",
            "Armoire de rue et débit internet",
            "Poteau télécom au {numero} {voie}",
        ),
        (
            "Mon logement n'est toujours pas éligible au très haut débit.",
            "L'opérateur indique que le point de branchement optique manque.",
            "Un poteau télécom penche dangereusement au-dessus du portail.",
            "Les voisins du {voie} sont raccordés, pas notre maison.",
            "Le déploiement du réseau public était annoncé pour {mois}.",
            "Qui faut-il contacter pour faire avancer l'adressage ?",
        ),
    ),
    Sujet(
        "colis",
        "social",
        "normale",
        True,
        (
            "Colis de la banque alimentaire",
            "Aide alimentaire pour ma famille",
            "Distribution des paniers solidaires",
        ),
        (
            "Je suis seule avec trois enfants et les fins de mois sont difficiles.",
            "L'épicerie solidaire a fermé pendant les travaux de {mois}.",
            "Pouvez-vous m'inscrire pour les paniers de la banque alimentaire ?",
            "Mon mari a perdu son emploi et nous n'avons plus de quoi manger.",
            "Une voisine âgée aurait besoin d'un portage de colis à domicile.",
            "Le bénévole m'a dit de m'adresser à la mairie pour le dossier.",
        ),
    ),
    Sujet(
        "lettre_info",
        "institutions",
        "basse",
        False,
        (
            "Lettre d'information de la communauté de communes",
            "Bulletin du syndicat intercommunal",
            "Les actualités du pays de Loire-Aubin",
        ),
        (
            "Retrouvez ce mois-ci le compte rendu du bureau communautaire.",
            "Le syndicat présente son rapport d'activité de l'année écoulée.",
            "Une nouvelle navette intercommunale circulera dès {mois}.",
            "Les horaires de la déchèterie changent au premier du mois.",
            "Ce bulletin est adressé à toutes les communes membres.",
            "Pour vous désabonner, répondez simplement à ce message.",
        ),
        ("cc-loire-aubin.example", "syndicat-eaux.example"),
    ),
    Sujet(
        "cantine",
        "ecole",
        "normale",
        True,
        (
            "Inscription à la cantine scolaire",
            "Restauration scolaire de l'école",
            "Menus de la cantine",
        ),
        (
            "Je souhaite inscrire mon fils à la cantine de l'école à partir de {mois}.",
            "Ma fille est allergique à l'arachide : faut-il un protocole d'accueil ?",
            "La facture de la restauration scolaire comporte une erreur.",
            "Les enfants se plaignent des portions servies à l'école.",
            "Pouvez-vous me transmettre le dossier d'inscription scolaire ?",
            "Merci de m'indiquer les tarifs selon le quotient familial.",
        ),
    ),
    Sujet(
        "concession",
        "cimetiere",
        "normale",
        True,
        (
            "Renouvellement de concession au cimetière",
            "Case au columbarium",
            "Entretien d'une tombe au cimetière",
        ),
        (
            "La concession de mes grands-parents arrive à échéance en {mois}.",
            "Nous souhaitons acquérir une case au columbarium du cimetière.",
            "La tombe voisine menace de s'effondrer sur celle de ma mère.",
            "Quel est le tarif d'une concession trentenaire ?",
            "Peut-on installer une plaque sur le jardin du souvenir ?",
            "Je vous remercie de m'indiquer les démarches à suivre.",
        ),
    ),
)

PRENOMS = ("Claire", "Jean", "Sophie", "Paul", "Anne", "Luc", "Marie", "Rémi", "Élodie", "Marc")
NOMS = ("Martin", "Dupont", "Bernard", "Leroy", "Moreau", "Petit", "Garnier", "Roux", "Robin")
VOIES = ("rue des Tilleuls", "chemin des Vignes", "rue du Moulin", "route de Blois", "allée Verte")
MOIS = ("janvier", "mars", "mai", "juin", "septembre", "octobre")


@dataclass(frozen=True)
class LettreEtiquetee:
    courrier: CourrierALire
    sujet: Sujet

    @property
    def cle(self) -> str:
        return f"{self.courrier.objet}\n{self.courrier.texte}"


def lettre(graine: int, rang: int) -> LettreEtiquetee:
    hasard = random.Random(graine * 100_003 + rang)
    sujet = SUJETS[rang % len(SUJETS)]
    prenom, nom = hasard.choice(PRENOMS), hasard.choice(NOMS)
    valeurs = {
        "voie": hasard.choice(VOIES),
        "numero": str(hasard.randint(1, 120)),
        "mois": hasard.choice(MOIS),
    }
    phrases = sorted(hasard.sample(range(len(sujet.phrases)), 3))
    corps = " ".join(sujet.phrases[i].format(**valeurs) for i in phrases)
    domaine = hasard.choice(sujet.domaines)
    local = f"{prenom}.{nom}".lower().replace("é", "e")
    texte = f"Madame, Monsieur,\n\n{corps}\n\nCordialement,\n{prenom} {nom}\n"
    courrier = CourrierALire(
        numero=f"N{graine}-{rang:04d}",
        canal="email",
        recu_le=ARRIVEE + timedelta(days=graine, minutes=rang),
        objet=hasard.choice(sujet.objets).format(**valeurs),
        expediteur=f"{prenom} {nom} <{local}@{domaine}>",
        expediteur_adresse=f"{local}@{domaine}",
        texte=texte,
    )
    return LettreEtiquetee(courrier, sujet)


def nuit(graine: int, combien: int, exclues: set[str] | None = None) -> list[LettreEtiquetee]:
    """`combien` lettres toutes différentes entre elles et de celles de `exclues`."""
    vues = set(exclues or ())
    lettres: list[LettreEtiquetee] = []
    rang = 0
    while len(lettres) < combien:
        candidate = lettre(graine, rang)
        rang += 1
        if candidate.cle not in vues:
            vues.add(candidate.cle)
            lettres.append(candidate)
    return lettres


def nuits(combien: int) -> tuple[list[LettreEtiquetee], list[LettreEtiquetee]]:
    """Deux nuits sans une lettre en commun (graines 1 et 2)."""
    premiere = nuit(1, combien)
    seconde = nuit(2, combien, {x.cle for x in premiere})
    return premiere, seconde


def deposer(registre: Registre, lettres: Sequence[LettreEtiquetee]) -> dict[str, LettreEtiquetee]:
    """Enregistre et « lit » les lettres comme la relève l'aurait fait ; rend numéro → lettre."""
    par_reference = {}
    numeros = {}
    for x in lettres:
        c = x.courrier
        element = ElementRecu(
            source="depot_eml",
            canal=Canal.DEPOT,
            reference=c.numero,
            recu_le=c.recu_le,
            contenu=f"{c.numero}\n{c.objet}\n{c.texte}".encode(),
        )
        entetes = EntetesCourrier(
            expediteur=c.expediteur, expediteur_adresse=c.expediteur_adresse, objet=c.objet
        )
        numeros[registre.enregistrer(element, entetes).numero] = x
        par_reference[c.numero] = x
    references = {c.id: c.reference for c in registre.courriers()}
    for a in registre.a_extraire():
        texte = par_reference[references[a.id]].courrier.texte
        registre.consigner_extraction(a.id, ResultatExtraction(texte=texte, methode="texte"))
    return numeros


def corriger_comme_la_secretaire(
    registre: Registre,
    numeros: Mapping[str, LettreEtiquetee],
    services: Mapping[str, str],
    rediger: Rediger,
) -> int:
    """La matinée de la secrétaire : elle corrige ce qui est mal classé (catégorie, service,
    urgence, réponse attendue) ; ce qui est juste, elle en valide la réponse (sur papier)
    sans rien corriger. Rend le nombre de courriers corrigés."""
    corriges = 0
    for numero, x in numeros.items():
        c = registre.courrier(numero)
        assert c is not None
        s = x.sujet
        juste = (c.categorie, c.urgence, bool(c.reponse_attendue)) == (
            s.categorie,
            s.urgence,
            s.reponse_attendue,
        )
        if not juste:
            corriger(
                registre,
                numero,
                "secretaire",
                rediger,
                categorie=s.categorie,
                service=services[s.categorie],
                urgence=s.urgence,
                reponse_attendue=s.reponse_attendue,
                categories=services,  # la table d'aiguillage des règles : une clé par catégorie
            )
            corriges += 1
            continue
        a_valider = [b for b in c.brouillons if b.statut == StatutBrouillon.A_VALIDER.value]
        if a_valider:
            registre.valider_brouillon(a_valider[-1].id, "secretaire", "papier")
    return corriges


def justesse(categories: Mapping[str, str], numeros: Mapping[str, LettreEtiquetee]) -> float:
    """La part des courriers dont la catégorie est celle que la secrétaire retient."""
    bons = sum(categories[n] == x.sujet.categorie for n, x in numeros.items())
    return bons / len(numeros)
