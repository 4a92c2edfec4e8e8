"""Fabrique le courrier de démonstration de Saint-Aubin-sur-Loire (commune fictive, 380 habitants).

    .venv/bin/python -m courrier.demo.generer [--dest DOSSIER]

Écrit `courriels/*.eml` (7 courriels) et `scans/*` (4 lettres papier passées au copieur) à côté de
ce fichier, ou dans DOSSIER. Tout est fictif et déterministe (graines fixes, dates fixes) : relancer
le script redonne les mêmes octets. Seuls la bibliothèque standard et Pillow servent ; les polices
DejaVu (paquet `fonts-dejavu-core`) ne sont nécessaires que pour régénérer les fichiers, qui sont
livrés avec le code.

`CATALOGUE` décrit chaque fichier (objet exact, expéditeur, catégorie et urgence attendues) pour les
tests et la démonstration ; `texte_attendu(nom)` rend le texte imprimé sur un scan (pour mesurer
l'OCR), sans police ni dessin.
"""

from __future__ import annotations

import argparse
import base64
import io
import math
import quopri
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageFont

ICI = Path(__file__).resolve().parent
POLICES = Path("/usr/share/fonts/truetype/dejavu")
MAIRIE = "mairie@saint-aubin-sur-loire.example"
COMMUNE = "Saint-Aubin-sur-Loire"
CP = "45570"
CET = timezone(timedelta(hours=1))  # novembre : heure d'hiver, UTC+1
CRLF = b"\r\n"


@dataclass(frozen=True)
class Attendu:
    """Ce qu'un fichier de démonstration contient et comment il devrait être classé."""

    fichier: str  # chemin relatif au dossier `courrier/demo`
    objet: str  # Subject du courriel, ou ligne « Objet : » du scan (sans le libellé)
    expediteur: str  # nom affiché
    adresse: str | None  # adresse électronique (None pour le papier)
    categorie: str  # identifiant de `regles/`
    urgence: str  # haute, normale, basse
    reponse_attendue: bool


CATALOGUE: tuple[Attendu, ...] = (
    Attendu(
        "courriels/01-etat-civil-acte-naissance.eml",
        "Demande de copie intégrale d'acte de naissance",
        "Camille Lefèvre",
        "camille.lefevre88@particulier.example",
        "etat_civil",
        "normale",
        True,
    ),
    Attendu(
        "courriels/02-voirie-fuite-nid-de-poule.eml",
        "URGENT : fuite d'eau et nid-de-poule dangereux rue des Vignes",
        "Gérard Moreau",
        "gerard.moreau45@particulier.example",
        "voirie",
        "haute",
        True,
    ),
    Attendu(
        "courriels/03-salle-des-fetes-loto.eml",
        "Demande de réservation de la salle des fêtes pour un loto le 12 décembre 2026",
        "Comité des fêtes de Saint-Aubin",
        "comite.fetes.saintaubin@particulier.example",
        "salles_associations",
        "normale",
        True,
    ),
    Attendu(
        "courriels/04-urbanisme-extension.eml",
        "Extension de ma maison : déclaration préalable ou permis de construire ?",
        "Jean-Luc Bézier",
        "jl.bezier@particulier.example",
        "urbanisme",
        "normale",
        True,
    ),
    Attendu(
        "courriels/05-prefecture-elections.eml",
        "Circulaire : élection présidentielle de 2027 – calendrier et organisation"
        " des bureaux de vote",
        "Préfecture du Loiret – Bureau des élections",
        "pref-elections@prefecture-loiret.example",
        "elections",
        "normale",
        True,
    ),
    Attendu(
        "courriels/06-ecole-cantine.eml",
        "Inscription de mes enfants à la cantine scolaire",
        "Sophie Martin",
        "sophie.martin.staubin@particulier.example",
        "ecole",
        "normale",
        True,
    ),
    Attendu(
        "courriels/07-publicite-illuminations.eml",
        "Offre spéciale communes : -30 % sur les illuminations de Noël 🎄",
        "Urbanéo Équipement des collectivités",
        "newsletter@urbaneo-collectivites.example",
        "publicite",
        "basse",
        False,
    ),
    Attendu(
        "scans/lettre-cimetiere.png",
        "Demande de concession au cimetière communal",
        "Odette Rousseau",
        None,
        "cimetiere",
        "normale",
        True,
    ),
    Attendu(
        "scans/lettre-bruit.jpg",
        "Nuisances sonores nocturnes dues aux aboiements de chiens",
        "Thierry Garnier",
        None,
        "tranquillite",
        "normale",
        True,
    ),
    Attendu(
        "scans/lettre-aide-sociale.pdf",
        "Demande d'aide financière exceptionnelle auprès du CCAS",
        "Nadia Benali",
        None,
        "social",
        "haute",
        True,
    ),
    Attendu(
        "scans/facture-entreprise.tif",
        "Remplacement de deux fenêtres de l'école communale",
        "Menuiserie Dubreuil",
        None,
        "finances",
        "normale",
        False,
    ),
)


def _attendu(fichier: str) -> Attendu:
    return next(a for a in CATALOGUE if a.fichier == fichier)


# --------------------------------------------------------------------------------------------
# Courriels : construits octet par octet pour maîtriser jeux de caractères et encodages.
# --------------------------------------------------------------------------------------------


def _date(jour: int, heure: int, minute: int, seconde: int) -> str:
    return format_datetime(datetime(2026, 11, jour, heure, minute, seconde, tzinfo=CET))


def _mot_encode(texte: str, nom: str, charset: str = "utf-8") -> str:
    """Valeur d'en-tête en ASCII : mots encodés RFC 2047 si le texte n'est pas ASCII."""
    if texte.isascii():
        return texte
    return Header(texte, charset, header_name=nom).encode(linesep="\r\n")


def _adresse(nom: str, adresse: str, charset: str = "utf-8") -> str:
    return formataddr((nom, adresse), charset=charset)


def _entetes(paires: Iterable[tuple[str, str]]) -> bytes:
    return b"".join(f"{nom}: {valeur}".encode("ascii") + CRLF for nom, valeur in paires)


def _partie(paires: Iterable[tuple[str, str]], corps: bytes) -> bytes:
    return _entetes(paires) + CRLF + corps


def _multipart(frontiere: str, parties: Iterable[bytes], preambule: bool = True) -> bytes:
    sortie = b"This is a multi-part message in MIME format." + CRLF if preambule else b""
    for partie in parties:
        sortie += CRLF + b"--" + frontiere.encode() + CRLF + partie.rstrip(b"\r\n")
    return sortie + CRLF + b"--" + frontiere.encode() + b"--" + CRLF


def _qp(texte: str, charset: str = "utf-8") -> bytes:
    return quopri.encodestring(texte.encode(charset)).replace(b"\n", CRLF)


def _b64(donnees: bytes) -> bytes:
    return base64.encodebytes(donnees).replace(b"\n", CRLF)


def _8bit(texte: str, charset: str) -> bytes:
    return texte.replace("\n", "\r\n").encode(charset)


def _recu(depuis: str, ip: str, ident: str, date: str) -> str:
    return (
        f"from {depuis} ({depuis} [{ip}])\r\n\tby mx.saint-aubin-sur-loire.example (Postfix)"
        f" with ESMTPS id {ident}\r\n\tfor <{MAIRIE}>; {date}"
    )


def _communs(
    a: Attendu, date: str, message_id: str, relais: str, ip: str, ident: str, charset: str = "utf-8"
) -> list[tuple[str, str]]:
    assert a.adresse is not None
    return [
        ("Return-Path", f"<{a.adresse}>"),
        ("Received", _recu(relais, ip, ident, date)),
        ("From", _adresse(a.expediteur, a.adresse, charset)),
        ("To", _adresse("Mairie de Saint-Aubin-sur-Loire", MAIRIE)),
        ("Subject", _mot_encode(a.objet, "Subject", charset)),
        ("Date", date),
        ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
    ]


def courriel_etat_civil() -> bytes:
    a = _attendu("courriels/01-etat-civil-acte-naissance.eml")
    date = _date(2, 9, 14, 27)
    texte = """Madame, Monsieur,

Je me permets de vous écrire afin d'obtenir une copie intégrale de mon acte de naissance. \
J'en ai besoin pour constituer mon dossier de mariage, qui doit être déposé à la mairie de Tours \
avant la fin du mois de novembre.

Voici les informations utiles :
- Nom : LEFÈVRE
- Prénoms : Camille Hélène
- Date de naissance : 14 mars 1988
- Lieu de naissance : Saint-Aubin-sur-Loire (Loiret)
- Père : François Lefèvre
- Mère : Brigitte Lefèvre, née Chéron

Pourriez-vous me l'envoyer par courrier à l'adresse suivante : 12 rue Édouard-Vaillant, \
37000 Tours ? Si une copie peut m'être transmise plus rapidement par voie électronique, \
cela m'arrangerait également.

Je vous remercie par avance et vous prie d'agréer, Madame, Monsieur, l'expression de mes \
salutations distinguées.

Camille Lefèvre
06 39 98 41 27
"""
    entetes = _communs(
        a,
        date,
        "<1809346712.4821.1793607267@particulier.example>",
        "smtp.particulier.example",
        "192.0.2.41",
        "4Q7xk21Zb3z9R",
        "utf-8",
    )
    entetes += [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
        ("X-Mailer", "Particulier.example Webmail"),
    ]
    return _partie(entetes, _qp(texte))


def courriel_voirie() -> bytes:
    a = _attendu("courriels/02-voirie-fuite-nid-de-poule.eml")
    date = _date(3, 7, 42, 10)
    texte = """Bonjour Monsieur le Maire,

Je vous signale qu'une fuite d'eau importante s'est déclarée cette nuit devant le n° 14 de la \
rue des Vignes, dans le virage près du lavoir. L'eau coule en continu sur la chaussée et a déjà \
creusé un trou d'environ 50 cm de large et 20 cm de profondeur.

Ce matin vers 7 h 15, un cycliste a failli tomber et les voitures font des écarts pour l'éviter, \
alors que c'est le passage du car scolaire. Avec le gel annoncé cette semaine, la route risque \
de devenir une vraie patinoire.

Pourriez-vous faire intervenir en urgence les services techniques ou le syndicat des eaux, et \
installer au moins une signalisation en attendant la réparation ?

Je reste joignable au 06 39 98 12 45 toute la journée.

Cordialement,
Gérard Moreau
16 rue des Vignes
"""
    html = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Arial, sans-serif; font-size: 14px;">
<p>Bonjour Monsieur le Maire,</p>
<p>Je vous signale qu'une <strong>fuite d'eau importante</strong> s'est déclarée cette nuit \
devant le n° 14 de la rue des Vignes, dans le virage près du lavoir. L'eau coule en continu sur \
la chaussée et a déjà creusé un trou d'environ 50&nbsp;cm de large et 20&nbsp;cm de \
profondeur.</p>
<p>Ce matin vers 7&nbsp;h&nbsp;15, un cycliste a failli tomber et les voitures font des écarts \
pour l'éviter, alors que c'est le passage du car scolaire. Avec le gel annoncé cette semaine, la \
route risque de devenir une vraie patinoire.</p>
<p><strong>Pourriez-vous faire intervenir en urgence les services techniques ou le syndicat des \
eaux</strong>, et installer au moins une signalisation en attendant la réparation&nbsp;?</p>
<p>Je reste joignable au 06&nbsp;39&nbsp;98&nbsp;12&nbsp;45 toute la journée.</p>
<p>Cordialement,<br>
Gérard Moreau<br>
16 rue des Vignes</p>
</body></html>
"""
    frontiere = "----=_Part_20261103074210_8f3a1c"
    entetes = _communs(
        a,
        date,
        "<bd61a0f4-77e2-4c1b-9a05-3c2e8e1f5d20@particulier.example>",
        "smtp.particulier.example",
        "198.51.100.23",
        "4Q8Lm05Tq7z4W",
    )
    entetes += [
        ("X-Priority", "1 (Highest)"),
        ("Importance", "high"),
        ("Content-Type", f'multipart/alternative; boundary="{frontiere}"'),
    ]
    qp = [("Content-Transfer-Encoding", "quoted-printable")]
    corps = _multipart(
        frontiere,
        [
            _partie([("Content-Type", "text/plain; charset=utf-8"), *qp], _qp(texte)),
            _partie([("Content-Type", "text/html; charset=utf-8"), *qp], _qp(html)),
        ],
    )
    return _partie(entetes, corps)


def courriel_salle_des_fetes() -> bytes:
    a = _attendu("courriels/03-salle-des-fetes-loto.eml")
    date = _date(4, 18, 23, 51)
    texte = """Bonsoir,

Comme chaque année, le Comité des fêtes souhaite organiser son grand loto au profit du \
Téléthon. Nous sollicitons pour cela la réservation de la salle des fêtes le samedi \
12 décembre 2026, de 14 h à 23 h, avec la possibilité de nous installer la veille, le vendredi \
11 décembre à partir de 18 h.

Nous attendons environ 150 personnes. Vous trouverez ci-joint notre demande de réservation \
complétée et signée. L'attestation d'assurance responsabilité civile pour 2026 suivra dès \
réception.

Pouvez-vous nous confirmer la disponibilité de la salle et nous indiquer si le tarif réservé aux \
associations de la commune s'applique toujours ?

Avec nos remerciements,

Martine Chevalier
Présidente du Comité des fêtes de Saint-Aubin-sur-Loire
06 39 98 55 04
"""
    frontiere = "000000000000a1b2c3d405f1e6c2"
    pdf = pdf_demande_reservation()
    entetes = _communs(
        a,
        date,
        "<CAF3k9m+Qx2LrT0vYb7nW1eJ8sPq4uHd6gZ@mail.particulier.example>",
        "mx.particulier.example",
        "203.0.113.54",
        "4Q9Bz37Pk1z2X",
    )
    entetes += [("Content-Type", f'multipart/mixed; boundary="{frontiere}"')]
    nom_pdf = "Demande_reservation_salle_des_fetes.pdf"
    corps = _multipart(
        frontiere,
        [
            _partie(
                [
                    ("Content-Type", "text/plain; charset=UTF-8"),
                    ("Content-Transfer-Encoding", "quoted-printable"),
                ],
                _qp(texte),
            ),
            _partie(
                [
                    ("Content-Type", f'application/pdf; name="{nom_pdf}"'),
                    ("Content-Disposition", f'attachment; filename="{nom_pdf}"'),
                    ("Content-Transfer-Encoding", "base64"),
                    ("X-Attachment-Id", "f_mh3k2p1a0"),
                ],
                _b64(pdf),
            ),
        ],
        preambule=False,
    )
    return _partie(entetes, corps)


def courriel_urbanisme() -> bytes:
    a = _attendu("courriels/04-urbanisme-extension.eml")
    date = _date(5, 21, 5, 33)
    texte = """Bonsoir,

Je suis propriétaire de la maison située 8 chemin de la Garenne (parcelle cadastrée AB 152, en \
zone UB du PLU). Nous envisageons pour le printemps prochain :
- une extension de 32 m² à l'arrière de la maison (bureau et véranda) ;
- un abri de jardin de 9 m² en fond de parcelle ;
- le remplacement du portail et d'une partie de la clôture sur rue.

La maison fait actuellement 128 m² de surface de plancher. J'ai lu qu'en zone urbaine une \
déclaration préalable suffisait jusqu'à 40 m², mais aussi qu'au-delà de 150 m² au total il \
fallait un permis de construire et le recours à un architecte. Pourriez-vous m'indiquer quelle \
autorisation je dois déposer, si je peux faire un seul dossier pour les trois travaux, et quels \
sont les délais d'instruction ?

Enfin, est-il possible de déposer le dossier par le guichet numérique des autorisations \
d'urbanisme, ou faut-il passer en mairie ?

Je vous remercie par avance de votre réponse.

Bien cordialement,

Jean-Luc Bézier
8 chemin de la Garenne
45570 Saint-Aubin-sur-Loire
"""
    entetes = _communs(
        a,
        date,
        "<000001db4f2a$6c1e8b20$4455a160$@particulier.example>",
        "smtp.particulier.example",
        "198.51.100.77",
        "4QB0c52Hh4z7M",
        "iso-8859-1",
    )
    entetes += [
        ("Content-Type", "text/plain; charset=iso-8859-1"),
        ("Content-Transfer-Encoding", "8bit"),
        ("X-Mailer", "Microsoft Outlook 16.0"),
        ("Content-Language", "fr"),
    ]
    return _partie(entetes, _8bit(texte, "iso-8859-1"))


def courriel_prefecture() -> bytes:
    a = _attendu("courriels/05-prefecture-elections.eml")
    date = _date(6, 11, 30, 2)
    lignes = [
        (
            "Date limite d'inscription sur les listes électorales",
            "vendredi 5 mars 2027",
            "Inscription en ligne ou en mairie",
        ),
        (
            "Réunion de la commission de contrôle",
            "entre le 18 et le 21 mars 2027",
            "Procès-verbal à transmettre sous 48 h",
        ),
        (
            "Transmission des lieux de vote et des bureaux",
            "vendredi 27 novembre 2026",
            "Arrêté municipal à retourner par courriel",
        ),
        ("Premier tour de scrutin", "dimanche 11 avril 2027", "Ouverture de 8 h à 19 h"),
        ("Second tour de scrutin", "dimanche 25 avril 2027", "Ouverture de 8 h à 19 h"),
    ]
    rangees = "\n".join(
        f'<tr><td style="border:1px solid #999;padding:4px">{e}</td>'
        f'<td style="border:1px solid #999;padding:4px">{d}</td>'
        f'<td style="border:1px solid #999;padding:4px">{o}</td></tr>'
        for e, d, o in lignes
    )
    html = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Circulaire élections</title></head>
<body style="font-family: Marianne, Arial, sans-serif; font-size: 14px; color: #161616;">
<p style="font-weight:bold">PRÉFET DU LOIRET<br>Liberté – Égalité – Fraternité</p>
<p>Direction de la citoyenneté et de la légalité<br>Bureau des élections et de la \
réglementation</p>
<p>Orléans, le 6 novembre 2026</p>
<p>Le préfet du Loiret<br>à<br>Mesdames et Messieurs les maires du département</p>
<p><strong>Objet : élection présidentielle de 2027 – calendrier et organisation des bureaux de \
vote</strong><br>Réf. : circulaire ministérielle INTA2630412J du 2 novembre 2026</p>
<p>Mesdames et Messieurs les maires,</p>
<p>L'élection du Président de la République se tiendra les dimanches 11 et 25 avril 2027. \
Afin de préparer ce scrutin dans les meilleures conditions, je vous prie de bien vouloir prendre \
connaissance du calendrier ci-dessous.</p>
<table style="border-collapse:collapse">
<thead><tr><th style="border:1px solid #999;padding:4px">Étape</th>
<th style="border:1px solid #999;padding:4px">Date</th>
<th style="border:1px solid #999;padding:4px">Observations</th></tr></thead>
<tbody>
{rangees}
</tbody></table>
<p>Je vous demande en particulier de me retourner, <strong>au plus tard le vendredi \
27 novembre 2026</strong>, l'arrêté fixant les lieux de vote et le nombre de bureaux de votre \
commune, même en l'absence de changement par rapport au dernier scrutin.</p>
<p>Je vous rappelle que la composition de chaque bureau (un président, au moins deux assesseurs \
et un secrétaire) doit être assurée pendant toute la durée du scrutin.</p>
<p>Mes services restent à votre disposition pour toute question : \
<a href="mailto:pref-elections@prefecture-loiret.example">\
pref-elections@prefecture-loiret.example</a>.</p>
<p>Pour le préfet et par délégation,<br>la directrice de la citoyenneté et de la légalité,<br>
Anne-Sophie Perrin</p>
<p style="font-size:11px;color:#666">Ce message est envoyé à l'ensemble des mairies du Loiret. \
Merci de ne pas répondre à tous.</p>
</body></html>
"""
    entetes = _communs(
        a,
        date,
        "<20261106103002.7F3A2C40012@smtp.prefecture-loiret.example>",
        "smtp.prefecture-loiret.example",
        "192.0.2.130",
        "4QC6r18Wd9z1N",
    )
    entetes += [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    return _partie(entetes, _qp(html))


def courriel_cantine() -> bytes:
    a = _attendu("courriels/06-ecole-cantine.eml")
    date = _date(9, 12, 47, 5)
    texte = """Bonjour,

Je souhaite inscrire mes deux enfants, Léa (CE2) et Hugo (CP), à la cantine de l'école à partir \
du lundi 16 novembre, les lundis, mardis, jeudis et vendredis. Je reprends en effet un travail à \
temps plein à Orléans.

Vous trouverez ci-joint la fiche d'inscription remplie et signée (scannée). Hugo est allergique \
à l'arachide : un PAI est en cours de rédaction avec le médecin scolaire, je vous l'apporterai dès \
qu'il sera signé.

Pourriez-vous me confirmer le tarif du repas et les modalités de paiement (prélèvement ou \
facture mensuelle) ?

Merci beaucoup,
Sophie Martin
22 rue du Stade
06 39 98 63 21
"""
    frontiere = "000000000000f0e1d2c3b4a59687"
    entetes = _communs(
        a,
        date,
        "<CAH7pQ2x+Lk9vN3mRb8tYw5cJ0eFs6aZu1gD@mail.particulier.example>",
        "mx.particulier.example",
        "203.0.113.45",
        "4QF1n63Vb2z5K",
    )
    entetes += [("Content-Type", f'multipart/mixed; boundary="{frontiere}"')]
    nom = "fiche_inscription_cantine.pdf"
    corps = _multipart(
        frontiere,
        [
            _partie(
                [
                    ("Content-Type", "text/plain; charset=UTF-8"),
                    ("Content-Transfer-Encoding", "8bit"),
                ],
                _8bit(texte, "utf-8"),
            ),
            _partie(
                [
                    ("Content-Type", f'application/pdf; name="{nom}"'),
                    ("Content-Disposition", f'attachment; filename="{nom}"'),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                _b64(pdf_fiche_cantine()),
            ),
        ],
        preambule=False,
    )
    return _partie(entetes, corps)


def courriel_publicite() -> bytes:
    a = _attendu("courriels/07-publicite-illuminations.eml")
    date = _date(10, 6, 0, 14)
    texte = """Urbanéo – Équipement des collectivités

OFFRE SPÉCIALE COMMUNES : -30 % SUR LES ILLUMINATIONS DE NOËL

Madame la Maire, Monsieur le Maire,

Les fêtes approchent ! Jusqu'au 30 novembre 2026, profitez de -30 % sur toute notre gamme \
d'illuminations LED (motifs candélabres, guirlandes, rideaux lumineux) et de -15 % sur le \
mobilier urbain (bancs, corbeilles, jardinières).

- Livraison offerte dès 800 € HT de commande
- Paiement par mandat administratif à 30 jours
- Devis gratuit en 24 h

Découvrez le catalogue : https://www.urbaneo-collectivites.example/noel-2026

Vous recevez ce message car votre collectivité est inscrite à notre lettre d'information.
Se désinscrire : https://www.urbaneo-collectivites.example/desinscription
Urbanéo SAS – 4 rue de l'Industrie, 37700 Saint-Pierre-des-Corps
"""
    html = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Urbanéo</title></head>
<body style="margin:0;background:#f4f4f4;font-family:Arial,sans-serif">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="600" style="background:#ffffff">
<tr><td style="background:#0b3d2e;color:#ffffff;padding:20px;font-size:22px">
Urbanéo – Équipement des collectivités</td></tr>
<tr><td style="padding:20px">
<h1 style="color:#c8102e;font-size:26px">-30 % sur les illuminations de Noël 🎄</h1>
<p>Madame la Maire, Monsieur le Maire,</p>
<p>Les fêtes approchent&nbsp;! Jusqu'au <strong>30 novembre 2026</strong>, profitez de \
<strong>-30 %</strong> sur toute notre gamme d'illuminations LED (motifs candélabres, \
guirlandes, rideaux lumineux) et de -15 % sur le mobilier urbain (bancs, corbeilles, \
jardinières).</p>
<ul><li>Livraison offerte dès 800 € HT de commande</li>
<li>Paiement par mandat administratif à 30 jours</li>
<li>Devis gratuit en 24 h</li></ul>
<p style="text-align:center"><a href="https://www.urbaneo-collectivites.example/noel-2026" \
style="background:#c8102e;color:#ffffff;padding:12px 24px;text-decoration:none">\
Découvrir le catalogue</a></p>
<img src="https://www.urbaneo-collectivites.example/t/o.gif?c=noel26" width="1" height="1" alt="">
</td></tr>
<tr><td style="padding:12px;font-size:11px;color:#777">Vous recevez ce message car votre \
collectivité est inscrite à notre lettre d'information. \
<a href="https://www.urbaneo-collectivites.example/desinscription">Se désinscrire</a><br>
Urbanéo SAS – 4 rue de l'Industrie, 37700 Saint-Pierre-des-Corps</td></tr>
</table></td></tr></table>
</body></html>
"""
    frontiere = "=_urbaneo_7c0d2e9b4a1f"
    entetes = _communs(
        a,
        date,
        "<noel26.0000412.1793671214@mailing.urbaneo-collectivites.example>",
        "mailing.urbaneo-collectivites.example",
        "198.51.100.200",
        "4QG3s90Ma6z8P",
    )
    entetes += [
        ("Reply-To", "Urbaneo <no-reply@urbaneo-collectivites.example>"),
        ("List-Unsubscribe", "<https://www.urbaneo-collectivites.example/desinscription>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
        ("X-Campaign-ID", "noel-2026-communes"),
        ("Content-Type", f'multipart/alternative; boundary="{frontiere}"'),
    ]
    corps = _multipart(
        frontiere,
        [
            _partie(
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Transfer-Encoding", "quoted-printable"),
                ],
                _qp(texte),
            ),
            _partie(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                _b64(html.encode("utf-8")),
            ),
        ],
    )
    return _partie(entetes, corps)


# --------------------------------------------------------------------------------------------
# Le PDF « né numérique » joint au courriel de l'association, écrit à la main (Helvetica,
# WinAnsiEncoding), avec une vraie couche texte.
# --------------------------------------------------------------------------------------------


def _chaine_pdf(texte: str) -> bytes:
    brut = texte.encode("cp1252")
    return b"(" + brut.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _texte_pdf_utf16(texte: str) -> bytes:
    return b"<FEFF" + texte.encode("utf-16-be").hex().upper().encode() + b">"


def pdf_demande_reservation() -> bytes:
    """Un formulaire d'une page (A4) rempli par l'association, avec un texte extractible."""
    ops: list[bytes] = []

    def ecrire(x: float, y: float, texte: str, police: str = "F1", taille: float = 10) -> None:
        ops.append(
            f"BT /{police} {taille:g} Tf {x:g} {y:g} Td ".encode() + _chaine_pdf(texte) + b" Tj ET"
        )

    def cadre(x: float, y: float, largeur: float, hauteur: float) -> None:
        ops.append(f"{x:g} {y:g} {largeur:g} {hauteur:g} re S".encode())

    ops.append(b"0.6 w 0 0 0 RG")
    ecrire(56, 790, "Mairie de Saint-Aubin-sur-Loire", "F2", 11)
    ecrire(56, 776, "1 place de l'Église - 45570 Saint-Aubin-sur-Loire", "F1", 9)
    ecrire(56, 740, "DEMANDE DE RÉSERVATION DE LA SALLE DES FÊTES", "F2", 15)
    ecrire(56, 722, "À retourner au secrétariat de mairie au moins un mois avant la date.", "F1", 9)

    champs = [
        ("Demandeur (association ou particulier) :", "Comité des fêtes de Saint-Aubin-sur-Loire"),
        ("Représenté par :", "Martine Chevalier, présidente"),
        ("Adresse :", "5 allée des Peupliers, 45570 Saint-Aubin-sur-Loire"),
        ("Téléphone :", "06 39 98 55 04"),
        ("Courriel :", "comite.fetes.saintaubin@particulier.example"),
        ("Nature de la manifestation :", "Loto annuel au profit du Téléthon"),
        ("Date souhaitée :", "samedi 12 décembre 2026"),
        ("Horaires :", "de 14 h à 23 h"),
        ("Installation la veille :", "vendredi 11 décembre 2026 à partir de 18 h"),
        ("Nombre de personnes attendues :", "150"),
        ("Matériel demandé :", "30 tables, 150 chaises, sonorisation"),
        ("Buvette :", "oui (autorisation de débit de boissons temporaire demandée)"),
    ]
    y = 690.0
    for libelle, valeur in champs:
        ecrire(56, y, libelle, "F2", 10)
        ecrire(262, y, valeur, "F1", 10)
        ops.append(f"262 {y - 3:g} m 540 {y - 3:g} l S".encode())
        y -= 24

    y -= 8
    ecrire(56, y, "Tarif demandé :", "F2", 10)
    cadre(160, y - 1, 8, 8)
    ops.append(f"161 {y:g} m 167 {y + 6:g} l S 167 {y:g} m 161 {y + 6:g} l S".encode())
    ecrire(174, y, "association de la commune (gratuité une fois par an)", "F1", 10)
    cadre(160, y - 17, 8, 8)
    ecrire(174, y - 16, "particulier ou association extérieure : 250 € (caution 500 €)", "F1", 10)

    y -= 52
    engagement = [
        "Je soussignée, Martine Chevalier, m'engage à respecter le règlement intérieur de la",
        "salle, à rendre les locaux propres et rangés, à respecter le voisinage après 22 h et à",
        "fournir une attestation d'assurance responsabilité civile avant la manifestation.",
    ]
    for ligne in engagement:
        ecrire(56, y, ligne, "F1", 10)
        y -= 14
    y -= 10
    ecrire(56, y, "Fait à Saint-Aubin-sur-Loire, le 4 novembre 2026", "F1", 10)
    ecrire(360, y, "Signature :", "F1", 10)
    ecrire(360, y - 16, "Martine Chevalier", "F2", 10)
    ops.append(f"430 {y - 40:g} m 445 {y - 22:g} 460 {y - 48:g} 480 {y - 30:g} c S".encode())

    cadre(56, 60, 484, 80)
    ecrire(64, 126, "Cadre réservé à la mairie", "F2", 9)
    ecrire(64, 108, "Reçue le : ..................    Décision :  accord  /  refus", "F1", 9)
    ecrire(
        64,
        90,
        "Clés remises le : ..................    État des lieux : ..................",
        "F1",
        9,
    )
    ecrire(64, 72, "Visa du maire :", "F1", 9)

    contenu = b"\n".join(ops) + b"\n"
    objets = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(contenu)).encode() + b" >>\nstream\n" + contenu + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title "
        + _texte_pdf_utf16("Demande de réservation de la salle des fêtes")
        + b" /Author "
        + _texte_pdf_utf16("Comité des fêtes de Saint-Aubin-sur-Loire")
        + b" /Producer (courrier.demo) /CreationDate (D:20261104181500+01'00') >>",
    ]
    sortie = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    positions = []
    for numero, corps in enumerate(objets, start=1):
        positions.append(len(sortie))
        sortie += f"{numero} 0 obj\n".encode() + corps + b"\nendobj\n"
    debut_xref = len(sortie)
    sortie += f"xref\n0 {len(objets) + 1}\n".encode() + b"0000000000 65535 f \n"
    for position in positions:
        sortie += f"{position:010d} 00000 n \n".encode()
    sortie += (
        f"trailer\n<< /Size {len(objets) + 1} /Root 1 0 R /Info {len(objets)} 0 R >>\n"
        f"startxref\n{debut_xref}\n%%EOF\n"
    ).encode()
    return bytes(sortie)


# --------------------------------------------------------------------------------------------
# Pages imprimées puis passées au copieur. Une `Feuille` dessine en millimètres et en points ;
# en mode « à blanc » elle ne dessine rien et note seulement le texte (pour `texte_attendu`).
# --------------------------------------------------------------------------------------------

FAMILLES = {
    "sans": "DejaVuSans.ttf",
    "sans-gras": "DejaVuSans-Bold.ttf",
    "sans-italique": "DejaVuSans-Oblique.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-gras": "DejaVuSerif-Bold.ttf",
}


@cache
def _police(famille: str, taille_px: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    chemin = POLICES / FAMILLES[famille]
    if not chemin.exists():
        raise SystemExit(
            f"Police introuvable : {chemin}. Installez le paquet fonts-dejavu-core pour régénérer "
            "le courrier de démonstration."
        )
    return ImageFont.truetype(str(chemin), taille_px)


class Feuille:
    """Une page A4 blanche où l'on pose du texte (coordonnées en mm, tailles en points)."""

    def __init__(self, dpi: int = 300, dessiner: bool = True) -> None:
        self.dpi = dpi
        self.dessiner = dessiner
        self.trace: list[str] = []
        self.image: Image.Image | None = None
        if dessiner:
            from PIL import Image, ImageDraw

            self.image = Image.new("L", (self.px(210), self.px(297)), 255)
            self.crayon = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)

    def police(self, famille: str, pt: float) -> ImageFont.FreeTypeFont:
        return _police(famille, round(pt / 72 * self.dpi))

    def largeur(self, texte: str, famille: str, pt: float) -> float:
        """Largeur du texte en mm."""
        return self.police(famille, pt).getlength(texte) / self.dpi * 25.4

    def texte(
        self,
        x: float,
        y: float,
        texte: str,
        famille: str = "sans",
        pt: float = 12,
        encre: int = 20,
        droite: bool = False,
        noter: bool = True,
    ) -> None:
        """Une ligne dont le haut est en y ; `droite` aligne sa fin sur x."""
        if noter:
            self.trace.append(texte)
        if not self.dessiner:
            return
        ancre = "ra" if droite else "la"
        self.crayon.text(
            (self.px(x), self.px(y)), texte, font=self.police(famille, pt), fill=encre, anchor=ancre
        )

    def lignes(
        self,
        x: float,
        y: float,
        lignes: Iterable[str],
        famille: str = "sans",
        pt: float = 12,
        interligne: float = 1.3,
    ) -> float:
        for ligne in lignes:
            self.texte(x, y, ligne, famille, pt)
            y += pt * 0.3528 * interligne
        return y

    def paragraphe(
        self,
        x: float,
        y: float,
        largeur: float,
        texte: str,
        famille: str = "sans",
        pt: float = 12,
        interligne: float = 1.35,
        retrait: float = 0,
    ) -> float:
        """Un paragraphe coupé aux mots, aligné à gauche ; rend le y sous sa dernière ligne."""
        self.trace.append(texte)
        pas = pt * 0.3528 * interligne
        if not self.dessiner:
            return y + pas
        lignes: list[str] = []
        courante = ""
        for mot in texte.split():
            essai = f"{courante} {mot}".strip()
            dispo = largeur - (retrait if not lignes else 0)
            if courante and self.largeur(essai, famille, pt) > dispo:
                lignes.append(courante)
                courante = mot
            else:
                courante = essai
        lignes.append(courante)
        for rang, ligne in enumerate(lignes):
            self.texte(x + (retrait if rang == 0 else 0), y, ligne, famille, pt, noter=False)
            y += pas
        return y

    def trait(
        self, x1: float, y1: float, x2: float, y2: float, epaisseur: float = 0.3, encre: int = 40
    ) -> None:
        if self.dessiner:
            self.crayon.line(
                [(self.px(x1), self.px(y1)), (self.px(x2), self.px(y2))],
                fill=encre,
                width=max(1, self.px(epaisseur)),
            )

    def cadre(self, x1: float, y1: float, x2: float, y2: float, epaisseur: float = 0.3) -> None:
        if self.dessiner:
            self.crayon.rectangle(
                [self.px(x1), self.px(y1), self.px(x2), self.px(y2)],
                outline=40,
                width=max(1, self.px(epaisseur)),
            )

    def signature(self, x: float, y: float, graine: int, largeur: float = 45) -> None:
        """Un paraphe à l'encre : une courbe lisse tirée au hasard (graine fixe)."""
        if not self.dessiner:
            return
        rng = random.Random(graine)
        termes = [(rng.uniform(2, 6), rng.uniform(0, 6.3), rng.uniform(1.5, 4)) for _ in range(3)]
        points = []
        for i in range(240):
            t = i / 239
            dy = sum(a * math.sin(f * t * 6.3 + p) for f, p, a in termes)
            dx = 2.5 * math.sin(t * 40)
            points.append((self.px(x + t * largeur + dx), self.px(y + 8 + dy)))
        self.crayon.line(points, fill=35, width=self.px(0.45), joint="curve")


@dataclass(frozen=True)
class Lettre:
    """Une lettre de particulier, mise en page à la française."""

    fichier: str
    expediteur: tuple[str, ...]
    destinataire: tuple[str, ...]
    date: str
    objet: str
    paragraphes: tuple[str, ...]
    politesse: str
    signataire: str
    famille: str = "sans"
    pj: str | None = None


DESTINATAIRE = (
    "Monsieur le Maire",
    "Mairie de Saint-Aubin-sur-Loire",
    "1 place de l'Église",
    f"{CP} {COMMUNE}",
)

LETTRES = (
    Lettre(
        "scans/lettre-cimetiere.png",
        ("Odette Rousseau", "7 rue des Tilleuls", f"{CP} {COMMUNE}", "Tél. : 02 61 91 48 02"),
        DESTINATAIRE,
        f"{COMMUNE}, le 4 novembre 2026",
        _attendu("scans/lettre-cimetiere.png").objet,
        (
            "Mon époux, Henri Rousseau, est décédé le 28 octobre dernier et a été inhumé "
            "provisoirement dans le caveau de ma belle-famille. Je souhaiterais aujourd'hui "
            "acquérir une concession au cimetière communal afin que nous puissions y reposer "
            "tous les deux.",
            "Je sollicite donc l'attribution d'une concession trentenaire de deux places, si "
            "possible dans l'allée des Cyprès, près de la tombe de mes parents. Je vous serais "
            "reconnaissante de bien vouloir m'indiquer les emplacements disponibles, le tarif en "
            "vigueur ainsi que les démarches à accomplir pour le transfert du cercueil.",
            "Je me tiens à la disposition du secrétariat de mairie pour tout rendez-vous, de "
            "préférence le matin.",
        ),
        "Je vous prie d'agréer, Monsieur le Maire, l'expression de mes salutations respectueuses.",
        "Odette Rousseau",
        famille="serif",
    ),
    Lettre(
        "scans/lettre-bruit.jpg",
        ("Thierry Garnier", "15 chemin des Prés", f"{CP} {COMMUNE}"),
        DESTINATAIRE,
        f"{COMMUNE}, le 9 novembre 2026",
        _attendu("scans/lettre-bruit.jpg").objet,
        (
            "Je me permets de vous solliciter au sujet des aboiements incessants des deux chiens "
            "de mon voisin, domicilié au 17 chemin des Prés. Depuis le début du mois de "
            "septembre, ces animaux, laissés dehors toute la nuit, aboient presque sans "
            "interruption entre 22 heures et 3 heures du matin.",
            "J'ai tenté à plusieurs reprises de régler ce problème à l'amiable, de vive voix puis "
            "par un courrier remis en main propre le 12 octobre, sans aucun résultat. Mon épouse "
            "et moi ne parvenons plus à dormir, et notre fille, qui passe son baccalauréat cette "
            "année, en souffre également.",
            "Ces bruits de voisinage portent atteinte à la tranquillité publique. Je vous demande "
            "donc de bien vouloir intervenir auprès de ce voisin, dans le cadre de vos pouvoirs "
            "de police, afin que cette situation cesse. À défaut, je me verrai contraint de "
            "saisir le conciliateur de justice.",
        ),
        "Dans l'attente de votre intervention, je vous prie de croire, Monsieur le Maire, à "
        "l'assurance de ma considération distinguée.",
        "Thierry Garnier",
    ),
    Lettre(
        "scans/lettre-aide-sociale.pdf",
        ("Nadia Benali", "3 impasse du Moulin", f"{CP} {COMMUNE}", "Tél. : 06 39 98 77 10"),
        (
            "Monsieur le Maire",
            "Président du Centre communal d'action sociale",
            "Mairie de Saint-Aubin-sur-Loire",
            f"{CP} {COMMUNE}",
        ),
        f"{COMMUNE}, le 10 novembre 2026",
        _attendu("scans/lettre-aide-sociale.pdf").objet,
        (
            "Je suis mère de deux enfants de 6 et 9 ans, que j'élève seule. J'ai perdu mon emploi "
            "d'aide à domicile au mois d'août et le premier versement de mon allocation de "
            "retour à l'emploi a pris du retard.",
            "Je n'arrive plus à faire face à mes charges. Ma facture de fioul de 640 euros reste "
            "impayée et mon fournisseur refuse de me livrer avant son règlement, alors que "
            "l'hiver arrive. J'ai également du mal à assurer les courses de la fin du mois.",
            "Je sollicite donc une aide financière exceptionnelle du CCAS pour le chauffage, "
            "ainsi que des bons alimentaires si cela est possible. Je peux vous fournir tous les "
            "justificatifs nécessaires (avis d'imposition, attestation de France Travail, "
            "factures) et je suis disponible pour un rendez-vous avec l'assistante sociale.",
        ),
        "En vous remerciant par avance de l'attention que vous porterez à ma demande, je vous "
        "prie d'agréer, Monsieur le Maire, l'expression de mes salutations respectueuses.",
        "Nadia Benali",
        famille="serif",
        pj="P.J. : attestation de France Travail, facture de fioul",
    ),
)


def _lettre(lettre: Lettre, feuille: Feuille, graine: int) -> None:
    f, pt = lettre.famille, 12
    gras = f"{f}-gras"
    y = feuille.lignes(25, 20, lettre.expediteur, f, pt, 1.3)
    y = feuille.lignes(112, max(y + 14, 58), lettre.destinataire, f, pt, 1.3)
    feuille.texte(112, y + 10, lettre.date, f, pt)
    y += 30
    etiquette = "Objet : "
    feuille.trace.append(etiquette + lettre.objet)
    feuille.texte(25, y, etiquette, gras, pt, noter=False)
    dx = feuille.largeur(etiquette, gras, pt) if feuille.dessiner else 0
    feuille.texte(25 + dx, y, lettre.objet, f, pt, noter=False)
    y += 16
    feuille.texte(25, y, "Monsieur le Maire,", f, pt)
    y += 11
    for paragraphe in lettre.paragraphes:
        y = feuille.paragraphe(25, y, 160, paragraphe, f, pt, retrait=10) + 3.5
    y = feuille.paragraphe(25, y, 160, lettre.politesse, f, pt, retrait=10) + 6
    feuille.signature(118, y, graine)
    feuille.texte(118, y + 20, lettre.signataire, f, pt)
    if lettre.pj:
        feuille.texte(25, y + 36, lettre.pj, f, 10)


# La facture : deux pages d'une entreprise du village.
IBAN_BANQUE, IBAN_GUICHET, IBAN_COMPTE = "19870", "00451", "00012345678"


def _iban() -> str:
    cle = 97 - (89 * int(IBAN_BANQUE) + 15 * int(IBAN_GUICHET) + 3 * int(IBAN_COMPTE)) % 97
    bban = f"{IBAN_BANQUE}{IBAN_GUICHET}{IBAN_COMPTE}{cle:02d}"
    iban = f"FR{98 - int(bban + '152700') % 97:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


LIGNES_FACTURE = (
    ("Dépose des anciennes fenêtres bois simple vitrage", "2", "85,00", "170,00"),
    ("Fenêtre PVC double vitrage 2 vantaux 125 x 135 cm", "2", "742,00", "1 484,00"),
    ("Pose en rénovation, habillage et joints d'étanchéité", "2", "210,00", "420,00"),
    ("Évacuation et recyclage des déchets de chantier", "1", "65,00", "65,00"),
)


def _entete_entreprise(feuille: Feuille) -> None:
    feuille.texte(20, 16, "MENUISERIE DUBREUIL", "sans-gras", 18)
    feuille.lignes(
        20,
        25,
        (
            "SARL au capital de 20 000 €",
            f"12 route de Châteauneuf, {CP} {COMMUNE}",
            "Tél. : 02 61 91 23 45 – contact@menuiserie-dubreuil.example",
            "SIRET 812 345 678 00019 – TVA FR42 812345678",
        ),
        "sans",
        10,
        1.3,
    )


def _facture_page1(feuille: Feuille) -> None:
    _entete_entreprise(feuille)
    feuille.lignes(
        115,
        52,
        (
            "Mairie de Saint-Aubin-sur-Loire",
            "Service comptabilité",
            "1 place de l'Église",
            f"{CP} {COMMUNE}",
        ),
        "sans",
        11,
    )
    feuille.texte(20, 82, "FACTURE N° F2026-0457", "sans-gras", 16)
    feuille.lignes(
        20,
        92,
        (
            "Date : 12 novembre 2026",
            "Échéance : 12 décembre 2026",
            "Référence devis : D2026-0391 accepté le 21 septembre 2026",
        ),
        "sans",
        11,
    )
    objet = _attendu("scans/facture-entreprise.tif").objet
    feuille.trace.append(f"Objet : {objet}")
    feuille.texte(20, 113, "Objet : ", "sans-gras", 11, noter=False)
    dx = feuille.largeur("Objet : ", "sans-gras", 11) if feuille.dessiner else 0
    feuille.texte(20 + dx, 113, objet, "sans", 11, noter=False)

    colonnes = (20, 118, 132, 160, 190)  # bords des colonnes, en mm
    y = 125
    feuille.cadre(colonnes[0], y, colonnes[-1], y + 9)
    feuille.trace.append("Désignation Qté P.U. HT Total HT")
    for (x, titre), droite in zip(
        ((22, "Désignation"), (130, "Qté"), (158, "P.U. HT"), (188, "Total HT")),
        (False, True, True, True),
        strict=True,
    ):
        feuille.texte(x, y + 2.3, titre, "sans-gras", 10, droite=droite, noter=False)
    y += 9
    for designation, quantite, unitaire, total in LIGNES_FACTURE:
        feuille.trace.append(f"{designation} {quantite} {unitaire} {total}")
        feuille.texte(22, y + 3, designation, "sans", 10, noter=False)
        feuille.texte(130, y + 3, quantite, "sans", 10, droite=True, noter=False)
        feuille.texte(158, y + 3, unitaire, "sans", 10, droite=True, noter=False)
        feuille.texte(188, y + 3, total, "sans", 10, droite=True, noter=False)
        y += 11
    feuille.cadre(colonnes[0], 125, colonnes[-1], y)
    for x in colonnes[1:-1]:
        feuille.trait(x, 125, x, y)
    y += 8
    for libelle, montant, famille in (
        ("Total HT", "2 139,00 €", "sans"),
        ("TVA 20 %", "427,80 €", "sans"),
        ("Total TTC", "2 566,80 €", "sans-gras"),
    ):
        feuille.trace.append(f"{libelle} {montant}")
        feuille.texte(130, y, libelle, famille, 11, noter=False)
        feuille.texte(188, y, montant, famille, 11, droite=True, noter=False)
        y += 7
    feuille.trait(128, y - 8.5, 190, y - 8.5)
    feuille.paragraphe(
        20,
        y + 10,
        170,
        "Arrêtée la présente facture à la somme de deux mille cinq cent soixante-six euros et "
        "quatre-vingts centimes toutes taxes comprises.",
        "sans",
        11,
    )
    feuille.texte(20, 270, "Suite des conditions de règlement en page 2.", "sans", 10)
    feuille.texte(190, 280, "Page 1/2", "sans", 10, droite=True)


def _facture_page2(feuille: Feuille) -> None:
    feuille.texte(20, 16, "Menuiserie Dubreuil – Facture N° F2026-0457 (suite)", "sans-gras", 12)
    y = 32.0
    sections = (
        (
            "Conditions de règlement",
            "Paiement à 30 jours à compter de la réception de la facture, par virement "
            "administratif (mandat). La présente facture est également déposée sur le portail "
            "Chorus Pro.",
        ),
        (
            "Garantie",
            "Les menuiseries fournies sont garanties dix ans pièces et main-d'œuvre. Assurance "
            "décennale n° 2026-DEC-4471 souscrite auprès de la Mutuelle des artisans du Centre.",
        ),
        (
            "Pénalités de retard",
            "En cas de retard de paiement, des pénalités calculées au taux de trois fois le taux "
            "d'intérêt légal seront appliquées, ainsi qu'une indemnité forfaitaire pour frais de "
            "recouvrement de 40 euros. Pas d'escompte pour paiement anticipé.",
        ),
    )
    for titre, texte in sections:
        feuille.texte(20, y, titre, "sans-gras", 12)
        y = feuille.paragraphe(20, y + 7, 170, texte, "sans", 11) + 6
    feuille.texte(20, y, "Coordonnées bancaires", "sans-gras", 12)
    y = feuille.lignes(
        20,
        y + 7,
        (
            "Titulaire : SARL Menuiserie Dubreuil",
            "Banque : Banque du Val de Loire, agence de Châteauneuf",
            f"IBAN : {_iban()}",
            "BIC : BVDLFRP1XXX",
        ),
        "sans",
        11,
        1.4,
    )
    feuille.paragraphe(
        20,
        y + 8,
        170,
        "Nous vous remercions de votre confiance et restons à votre disposition pour tout "
        "renseignement complémentaire.",
        "sans",
        11,
    )
    feuille.texte(120, y + 30, "Pascal Dubreuil, gérant", "sans", 11)
    feuille.signature(122, y + 36, 4457, 40)
    feuille.texte(190, 280, "Page 2/2", "sans", 10, droite=True)


def _fiche_cantine(feuille: Feuille) -> None:
    encre_stylo = "sans-italique"
    feuille.texte(20, 15, "Mairie de Saint-Aubin-sur-Loire", "sans-gras", 11)
    feuille.texte(20, 30, "RESTAURATION SCOLAIRE – ANNÉE 2026-2027", "sans-gras", 15)
    feuille.texte(20, 39, "Fiche d'inscription – École primaire des Bords de Loire", "sans", 12)
    feuille.texte(20, 52, "Responsable légal", "sans-gras", 12)
    y = 60.0
    for libelle, valeur in (
        ("Nom et prénom :", "MARTIN Sophie"),
        ("Adresse :", f"22 rue du Stade, {CP} {COMMUNE}"),
        ("Téléphone :", "06 39 98 63 21"),
        ("Courriel :", "sophie.martin.staubin@particulier.example"),
    ):
        feuille.texte(20, y, libelle, "sans", 11)
        feuille.texte(58, y - 0.5, valeur, encre_stylo, 11, encre=45)
        feuille.trait(57, y + 5, 190, y + 5, 0.2, 120)
        y += 9
    feuille.texte(20, y + 4, "Enfant(s) inscrit(s)", "sans-gras", 12)
    y += 13
    feuille.cadre(20, y, 190, y + 30)
    for x in (75, 100, 135):
        feuille.trait(x, y, x, y + 30)
    feuille.trait(20, y + 10, 190, y + 10)
    feuille.trait(20, y + 20, 190, y + 20)
    for x, titre in ((22, "Nom, prénom"), (77, "Classe"), (102, "Né(e) le"), (137, "Jours")):
        feuille.texte(x, y + 2.5, titre, "sans-gras", 10)
    for rang, (nom, classe, naissance) in enumerate(
        (("MARTIN Léa", "CE2", "03/05/2018"), ("MARTIN Hugo", "CP", "21/01/2020"))
    ):
        ligne = y + 12.5 + rang * 10
        feuille.texte(22, ligne, nom, encre_stylo, 11, encre=45)
        feuille.texte(77, ligne, classe, encre_stylo, 11, encre=45)
        feuille.texte(102, ligne, naissance, encre_stylo, 11, encre=45)
        feuille.texte(137, ligne, "L  M  J  V", encre_stylo, 11, encre=45)
    y += 40
    feuille.texte(20, y, "Allergies, régime alimentaire, PAI :", "sans", 11)
    feuille.texte(20, y + 8, "Hugo : allergie à l'arachide (PAI en cours)", encre_stylo, 11, 45)
    feuille.texte(20, y + 20, "Date de début souhaitée :", "sans", 11)
    feuille.texte(76, y + 19.5, "lundi 16 novembre 2026", encre_stylo, 11, encre=45)
    feuille.texte(20, y + 32, "Mode de paiement :", "sans", 11)
    feuille.cadre(64, y + 32, 68, y + 36, 0.25)
    feuille.texte(70, y + 32, "prélèvement mensuel", "sans", 11)
    feuille.cadre(120, y + 32, 124, y + 36, 0.25)
    feuille.texte(126, y + 32, "facture mensuelle", "sans", 11)
    feuille.trait(64, y + 32, 68, y + 36, 0.4, 45)
    feuille.trait(68, y + 32, 64, y + 36, 0.4, 45)
    feuille.paragraphe(
        20,
        y + 48,
        170,
        "Je soussigné(e) certifie l'exactitude des renseignements portés sur cette fiche et "
        "m'engage à signaler toute absence au plus tard la veille avant 9 h.",
        "sans",
        10,
    )
    feuille.texte(20, y + 66, "Fait à Saint-Aubin-sur-Loire, le 8 novembre 2026", "sans", 11)
    feuille.texte(120, y + 76, "Signature :", "sans", 11)
    feuille.signature(122, y + 80, 916, 38)
    feuille.texte(
        20, 280, "Tarif 2026-2027 : 3,40 € le repas (délibération du 30 juin 2026)", "sans", 9
    )


def _numeriser(
    image: Image.Image | None, graine: int, angle: float, bords: bool = True
) -> Image.Image:
    """Ce que fait un copieur : un peu de flou, un léger biais, du grain dans l'encre, des
    poussières, l'ombre du bord de la vitre. Le fond reste blanc (suppression de fond)."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    assert image is not None, "feuille dessinée attendue"
    rng = random.Random(graine)
    largeur, hauteur = image.size
    image = image.filter(ImageFilter.GaussianBlur(0.6 * image.width / 2480))
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    grain = Image.frombytes("L", image.size, rng.randbytes(largeur * hauteur))
    image = ImageChops.add(image, grain.point(lambda v: v // 11))
    crayon = ImageDraw.Draw(image)
    for _ in range(rng.randint(120, 220)):
        x, y = rng.randrange(largeur), rng.randrange(hauteur)
        r = rng.choice((1, 1, 1, 2, 2, 3))
        crayon.ellipse([x - r, y - r, x + r, y + r], fill=rng.randint(70, 190))
    if bords:
        ombre = round(0.006 * largeur)
        for i in range(ombre):
            crayon.line([(i, 0), (i, hauteur)], fill=round(110 + 140 * i / ombre))
    return image


def _scan_lettre(lettre: Lettre, graine: int, angle: float) -> Image.Image:
    feuille = Feuille()
    _lettre(lettre, feuille, graine)
    return _numeriser(feuille.image, graine, angle)


DATE_PDF = time.struct_time((2026, 11, 10, 16, 5, 0, 1, 314, 0))


def pdf_fiche_cantine() -> bytes:
    """La fiche d'inscription passée au scanner de l'imprimante familiale : PDF d'image seule."""
    feuille = Feuille(dpi=200)
    _fiche_cantine(feuille)
    image = _numeriser(feuille.image, 61, -0.8, bords=False)
    sortie = io.BytesIO()
    image.save(
        sortie,
        "PDF",
        resolution=200,
        quality=70,
        title="Numérisation",
        producer="HP Smart",
        creationDate=time.struct_time((2026, 11, 9, 11, 40, 12, 0, 313, 0)),
        modDate=time.struct_time((2026, 11, 9, 11, 40, 12, 0, 313, 0)),
    )
    return sortie.getvalue()


def texte_attendu(fichier: str) -> str:
    """Le texte imprimé sur un scan (`scans/…`), dans l'ordre de lecture, sans rien dessiner."""
    for lettre in LETTRES:
        if lettre.fichier == fichier:
            feuille = Feuille(dessiner=False)
            _lettre(lettre, feuille, 0)
            return "\n".join(feuille.trace)
    if fichier == "scans/facture-entreprise.tif":
        pages = []
        for page in (_facture_page1, _facture_page2):
            feuille = Feuille(dessiner=False)
            page(feuille)
            pages.append("\n".join(feuille.trace))
        return "\n\n".join(pages)
    raise KeyError(fichier)


def generer(dest: Path = ICI) -> list[Path]:
    """Écrit tous les fichiers de démonstration sous `dest` et rend leurs chemins."""
    (dest / "courriels").mkdir(parents=True, exist_ok=True)
    (dest / "scans").mkdir(parents=True, exist_ok=True)
    ecrits: list[Path] = []

    def ecrire(nom: str, donnees: bytes) -> None:
        chemin = dest / nom
        chemin.write_bytes(donnees)
        ecrits.append(chemin)

    fabriques: tuple[Callable[[], bytes], ...] = (
        courriel_etat_civil,
        courriel_voirie,
        courriel_salle_des_fetes,
        courriel_urbanisme,
        courriel_prefecture,
        courriel_cantine,
        courriel_publicite,
    )
    for attendu, fabrique in zip(CATALOGUE[:7], fabriques, strict=True):
        ecrire(attendu.fichier, fabrique())

    cimetiere, bruit, aide = LETTRES
    sortie = io.BytesIO()
    _scan_lettre(cimetiere, 11, 0.35).save(sortie, "PNG", optimize=True, dpi=(300, 300))
    ecrire(cimetiere.fichier, sortie.getvalue())

    sortie = io.BytesIO()
    _scan_lettre(bruit, 23, -0.3).save(sortie, "JPEG", quality=85, dpi=(300, 300))
    ecrire(bruit.fichier, sortie.getvalue())

    sortie = io.BytesIO()
    _scan_lettre(aide, 37, 0.45).save(
        sortie,
        "PDF",
        resolution=300,
        quality=75,
        title="SCAN_20261112_0912",
        producer="Canon iR-ADV C3826",
        creationDate=DATE_PDF,
        modDate=DATE_PDF,
    )
    ecrire(aide.fichier, sortie.getvalue())

    pages = []
    for rang, (page, angle) in enumerate(((_facture_page1, -0.25), (_facture_page2, 0.2))):
        feuille = Feuille()
        page(feuille)
        gris = _numeriser(feuille.image, 47 + rang, angle)
        pages.append(gris.point(lambda v: 255 if v > 150 else 0).convert("1", dither=None))
    sortie = io.BytesIO()
    pages[0].save(
        sortie,
        "TIFF",
        save_all=True,
        append_images=pages[1:],
        compression="group4",
        dpi=(300, 300),
    )
    ecrire("scans/facture-entreprise.tif", sortie.getvalue())
    return ecrits


def main(argv: list[str] | None = None) -> None:
    analyseur = argparse.ArgumentParser(
        prog="python -m courrier.demo.generer",
        description="Régénère le courrier de démonstration (courriels et scans fictifs).",
    )
    analyseur.add_argument(
        "--dest", type=Path, default=ICI, help="dossier de sortie (par défaut : courrier/demo)"
    )
    arguments = analyseur.parse_args(argv)
    for chemin in generer(arguments.dest):
        print(f"{chemin}  ({chemin.stat().st_size // 1024} Kio)")


if __name__ == "__main__":
    main()
