"""Les courriels des habitants et des associations de la démonstration."""

from __future__ import annotations

from courrier.demo import courriels_mime as mime
from courrier.demo.catalogue import attendu_de
from courrier.demo.documents_pdf import pdf_demande_reservation, pdf_fiche_cantine


def courriel_etat_civil() -> bytes:
    a = attendu_de("courriels/01-etat-civil-acte-naissance.eml")
    date = mime.date(2, 9, 14, 27)
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
    entetes = mime.communs(
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
    return mime.partie(entetes, mime.qp(texte))


def courriel_voirie() -> bytes:
    a = attendu_de("courriels/02-voirie-fuite-nid-de-poule.eml")
    date = mime.date(3, 7, 42, 10)
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
    entetes = mime.communs(
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
    corps = mime.multipart(
        frontiere,
        [
            mime.partie([("Content-Type", "text/plain; charset=utf-8"), *qp], mime.qp(texte)),
            mime.partie([("Content-Type", "text/html; charset=utf-8"), *qp], mime.qp(html)),
        ],
    )
    return mime.partie(entetes, corps)


def courriel_salle_des_fetes() -> bytes:
    a = attendu_de("courriels/03-salle-des-fetes-loto.eml")
    date = mime.date(4, 18, 23, 51)
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
    entetes = mime.communs(
        a,
        date,
        "<CAF3k9m+Qx2LrT0vYb7nW1eJ8sPq4uHd6gZ@mail.particulier.example>",
        "mx.particulier.example",
        "203.0.113.54",
        "4Q9Bz37Pk1z2X",
    )
    entetes += [("Content-Type", f'multipart/mixed; boundary="{frontiere}"')]
    nom_pdf = "Demande_reservation_salle_des_fetes.pdf"
    corps = mime.multipart(
        frontiere,
        [
            mime.partie(
                [
                    ("Content-Type", "text/plain; charset=UTF-8"),
                    ("Content-Transfer-Encoding", "quoted-printable"),
                ],
                mime.qp(texte),
            ),
            mime.partie(
                [
                    ("Content-Type", f'application/pdf; name="{nom_pdf}"'),
                    ("Content-Disposition", f'attachment; filename="{nom_pdf}"'),
                    ("Content-Transfer-Encoding", "base64"),
                    ("X-Attachment-Id", "f_mh3k2p1a0"),
                ],
                mime.b64(pdf),
            ),
        ],
        preambule=False,
    )
    return mime.partie(entetes, corps)


def courriel_urbanisme() -> bytes:
    a = attendu_de("courriels/04-urbanisme-extension.eml")
    date = mime.date(5, 21, 5, 33)
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
    entetes = mime.communs(
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
    return mime.partie(entetes, mime.huit_bits(texte, "iso-8859-1"))


def courriel_cantine() -> bytes:
    a = attendu_de("courriels/06-ecole-cantine.eml")
    date = mime.date(9, 12, 47, 5)
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
    entetes = mime.communs(
        a,
        date,
        "<CAH7pQ2x+Lk9vN3mRb8tYw5cJ0eFs6aZu1gD@mail.particulier.example>",
        "mx.particulier.example",
        "203.0.113.45",
        "4QF1n63Vb2z5K",
    )
    entetes += [("Content-Type", f'multipart/mixed; boundary="{frontiere}"')]
    nom = "fiche_inscription_cantine.pdf"
    corps = mime.multipart(
        frontiere,
        [
            mime.partie(
                [
                    ("Content-Type", "text/plain; charset=UTF-8"),
                    ("Content-Transfer-Encoding", "8bit"),
                ],
                mime.huit_bits(texte, "utf-8"),
            ),
            mime.partie(
                [
                    ("Content-Type", f'application/pdf; name="{nom}"'),
                    ("Content-Disposition", f'attachment; filename="{nom}"'),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                mime.b64(pdf_fiche_cantine()),
            ),
        ],
        preambule=False,
    )
    return mime.partie(entetes, corps)
