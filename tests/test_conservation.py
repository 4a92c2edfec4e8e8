"""Conservation et RGPD, sur SQLite et PostgreSQL : purge à l'échéance sans casser la preuve,
droit d'accès d'une personne. L'horloge du registre est celle du test (des courriers de 2014 et
de 2026), jamais le jour où la suite tourne.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from noyau.analyse import Analyse, Brouillon, TypeBrouillon, Urgence
from noyau.domaine import (
    Canal,
    ElementRecu,
    EntetesCourrier,
    PieceExtraite,
    ResultatExtraction,
    TypeEvenement,
)
from registre.acces import ecrire_acces
from registre.archive import Archive
from registre.conservation import EFFACE, Conservation, a_purger, purger
from registre.registre import Registre
from tests.horloge import HorlogeDeTest

CONSERVATION = Conservation(defaut_ans=10, categories={"publicite": 1, "urbanisme": 0})
PIECE_COMMUNE = b"%PDF-1.4 le meme plan, joint deux fois"


def _courrier(
    registre: Registre,
    i: int,
    expediteur: str,
    categorie: str,
    piece: bytes | None = None,
    recu_le: datetime | None = None,
) -> str:
    element = ElementRecu(
        source="imap",
        canal=Canal.EMAIL,
        reference=f"INBOX:7:{i}",
        recu_le=recu_le or registre.horloge(),
        contenu=f"From: {expediteur}\r\n\r\nLettre {i}".encode(),
    )
    adresse = expediteur.split("<")[-1].rstrip(">")
    entetes = EntetesCourrier(
        expediteur=expediteur, expediteur_adresse=adresse, objet=f"Demande n°{i} de {expediteur}"
    )
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    octets = piece or f"piece {i}".encode()
    registre.consigner_extraction(
        ident,
        ResultatExtraction(
            texte=f"Je soussignée, {expediteur}, demeurant 3 rue des Lilas…",
            methode="texte",
            pieces=[
                PieceExtraite(
                    rang=1,
                    nom="justificatif-dupont.pdf",
                    type_mime="application/pdf",
                    taille=len(octets),
                    empreinte=registre.archive.deposer(octets),
                    texte="Avis d'imposition de Mme Dupont",
                )
            ],
        ),
    )
    registre.consigner_analyse(
        ident,
        Analyse(categorie=categorie, urgence=Urgence.NORMALE, resume=f"{expediteur} demande."),
        [Brouillon(TypeBrouillon.REPONSE, "Re: demande", f"Madame {expediteur},", "modele:x")],
    )
    return numero


def _garnir(registre: Registre, horloge: HorlogeDeTest) -> dict[str, str]:
    horloge.regler(datetime(2014, 3, 10, 9, 0, tzinfo=UTC))
    ancien = _courrier(registre, 1, "Mme Dupont <dupont@exemple.example>", "voirie", PIECE_COMMUNE)
    pub = _courrier(registre, 2, "Promo <promo@vendeur.example>", "publicite")
    permis = _courrier(registre, 3, "M. Martin <martin@exemple.example>", "urbanisme")
    horloge.regler(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    recent = _courrier(registre, 4, "Mme Dupont <dupont@exemple.example>", "voirie", PIECE_COMMUNE)
    horloge.regler(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    return {"ancien": ancien, "pub": pub, "permis": permis, "recent": recent}


def _avec_horloge(registre: Registre) -> tuple[Registre, HorlogeDeTest]:
    horloge = HorlogeDeTest(datetime(2014, 1, 1, tzinfo=UTC))
    return Registre(registre.engine, registre.archive, horloge), horloge


def test_la_purge_efface_les_donnees_personnelles_et_garde_la_preuve(registre: Registre) -> None:
    registre, horloge = _avec_horloge(registre)
    n = _garnir(registre, horloge)
    ancien = registre.courrier(n["ancien"])
    assert ancien is not None
    empreinte, taille, piece = ancien.empreinte, ancien.taille, ancien.pieces[0].empreinte

    jour = date(2026, 12, 2)
    assert {c.numero for c in a_purger(registre, CONSERVATION, jour)} == {n["ancien"], n["pub"]}
    bilan = purger(registre, CONSERVATION, jour)
    assert sorted(bilan.purges) == sorted([n["ancien"], n["pub"]])

    c = registre.courrier(n["ancien"])
    assert c is not None and c.purge_le is not None
    assert (c.expediteur, c.expediteur_adresse, c.objet) == (EFFACE, EFFACE, EFFACE)
    assert c.texte == "" and c.resume == "" and c.message_id == ""
    assert c.pieces[0].nom == EFFACE and c.pieces[0].texte == ""
    assert c.brouillons[0].corps == "" and "Dupont" not in c.brouillons[0].objet
    # Ce qui fait la preuve reste : numéro, dates, catégorie, taille, empreinte d'origine.
    assert (c.empreinte, c.taille, c.categorie) == (empreinte, taille, "voirie")
    assert c.recu_le.date() == date(2014, 3, 10)
    # L'original est effacé ; la pièce jointe aussi reçue en 2026 reste (encore citée).
    assert not registre.archive.contient(empreinte)
    assert registre.archive.contient(piece)
    # Le permis (conservation définitive) et le courrier récent ne bougent pas.
    for cle in ("permis", "recent"):
        garde = registre.courrier(n[cle])
        assert garde is not None and garde.purge_le is None and "@" in garde.expediteur_adresse

    # L'effacement est scellé : tout le registre, archive comprise, se vérifie.
    assert registre.verifier() == []
    purge = [e for e in registre.evenements(n["ancien"]) if e.type == TypeEvenement.PURGE.value]
    assert len(purge) == 1 and empreinte in purge[0].details and purge[0].etat
    # Une seconde purge n'a plus rien à faire.
    assert purger(registre, CONSERVATION, jour).purges == []


def test_un_courrier_date_de_bien_avant_son_enregistrement_garde_toute_sa_duree(
    registre: Registre,
) -> None:
    """Un fichier daté de 2000 déposé en 2026 (la relève dit qu'il faut vérifier sa date) : la
    durée se compte aussi depuis son entrée au registre ; la purge ne le prend pas tout de
    suite, seulement dix ans après l'enregistrement."""
    registre, horloge = _avec_horloge(registre)
    horloge.regler(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    vieux = _courrier(
        registre,
        1,
        "Mme Dupont <dupont@exemple.example>",
        "voirie",
        recu_le=datetime(2000, 6, 1, 9, 0, tzinfo=UTC),
    )
    fiche = registre.courrier(vieux)
    assert fiche is not None and fiche.recu_le.year == 2000
    assert CONSERVATION.echeance(fiche) == date(2036, 5, 4)
    assert a_purger(registre, CONSERVATION, date(2026, 12, 2)) == []
    assert purger(registre, CONSERVATION, date(2026, 12, 2)).purges == []
    assert a_purger(registre, CONSERVATION, date(2036, 5, 3)) == []
    assert [c.numero for c in a_purger(registre, CONSERVATION, date(2036, 5, 4))] == [vieux]
    # Reçu le 31 décembre, enregistré le 2 janvier : deux jours de plus, pas une année.
    horloge.regler(datetime(2027, 1, 2, 1, 0, tzinfo=UTC))
    fin_d_annee = _courrier(
        registre,
        2,
        "M. Martin <martin@exemple.example>",
        "publicite",
        recu_le=datetime(2026, 12, 31, 18, 0, tzinfo=UTC),
    )
    fiche = registre.courrier(fin_d_annee)
    assert fiche is not None and CONSERVATION.echeance(fiche) == date(2028, 1, 2)


def test_un_courrier_purge_retouche_par_sql_est_toujours_vu(registre: Registre) -> None:
    registre, horloge = _avec_horloge(registre)
    n = _garnir(registre, horloge)
    purger(registre, CONSERVATION, date(2026, 12, 2))
    with registre.engine.begin() as connexion:
        connexion.execute(
            text("UPDATE courriers SET expediteur = 'Mme Dupont' WHERE numero = :n"),
            {"n": n["ancien"]},
        )
    assert any(f"{n['ancien']} a été modifié" in a for a in registre.verifier())


def test_une_purge_interrompue_avant_l_effacement_des_fichiers_se_termine_a_la_suivante(
    registre: Registre,
) -> None:
    registre, horloge = _avec_horloge(registre)
    n = _garnir(registre, horloge)
    ancien = registre.courrier(n["ancien"])
    assert ancien is not None
    original = registre.archive.chemin(ancien.empreinte).read_bytes()
    purger(registre, CONSERVATION, date(2026, 12, 2))
    # La panne : la base est validée, le fichier est encore là.
    Archive(registre.archive.racine).deposer(original)
    assert registre.verifier() == [] and len(registre.verifier_tout().archive.orphelins) == 1
    assert purger(registre, CONSERVATION, date(2026, 12, 2)).fichiers_effaces == 1
    assert registre.verifier_tout().archive.orphelins == []


def test_le_droit_d_acces_rassemble_les_courriers_d_une_personne_et_rien_d_autre(
    registre: Registre, tmp_path: Path
) -> None:
    registre, horloge = _avec_horloge(registre)
    n = _garnir(registre, horloge)
    hostile = _courrier(registre, 5, "<script>alert(1)</script> <dupont@exemple.example>", "autre")
    sortie = tmp_path / "acces.html"
    trouves = ecrire_acces(registre, "DUPONT@exemple.example", "Saint-Aubin", sortie)
    assert {c.numero for c in trouves} == {n["ancien"], n["recent"], hostile}
    page = sortie.read_text(encoding="utf-8")
    assert n["ancien"] in page and n["recent"] in page and n["permis"] not in page
    assert "Martin" not in page and "promo@" not in page
    assert "Je soussignée" in page and "Avis d&#39;imposition" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    # Par le nom, sans accents ni casse.
    par_nom = ecrire_acces(registre, "mme dupont", "Saint-Aubin", tmp_path / "b.html")
    assert {c.numero for c in par_nom} == {n["ancien"], n["recent"]}
