"""Les courriels des organismes : une circulaire de la préfecture, une publicité."""

from __future__ import annotations

from courrier.demo import courriels_mime as mime
from courrier.demo.catalogue import attendu_de


def courriel_prefecture() -> bytes:
    a = attendu_de("courriels/05-prefecture-elections.eml")
    date = mime.date(6, 11, 30, 2)
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
    entetes = mime.communs(
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
    return mime.partie(entetes, mime.qp(html))


def courriel_publicite() -> bytes:
    a = attendu_de("courriels/07-publicite-illuminations.eml")
    date = mime.date(10, 6, 0, 14)
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
    entetes = mime.communs(
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
    corps = mime.multipart(
        frontiere,
        [
            mime.partie(
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Transfer-Encoding", "quoted-printable"),
                ],
                mime.qp(texte),
            ),
            mime.partie(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                mime.b64(html.encode("utf-8")),
            ),
        ],
    )
    return mime.partie(entetes, corps)
