"""Les documents d'organismes imprimés : la facture de deux pages d'une entreprise du village et
la fiche d'inscription à la cantine remplie au stylo."""

from __future__ import annotations

from courrier.demo.catalogue import COMMUNE, CP, attendu_de
from courrier.demo.papier import Feuille

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


def facture_page1(feuille: Feuille) -> None:
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
    objet = attendu_de("scans/facture-entreprise.tif").objet
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


def facture_page2(feuille: Feuille) -> None:
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


def fiche_cantine(feuille: Feuille) -> None:
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
