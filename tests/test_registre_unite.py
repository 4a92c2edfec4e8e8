"""Le registre découpé (#16) : l'unité de travail publique, les points de panne explicites et
les fiches du noyau qu'il rend. Sur SQLite et PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noyau.domaine import Canal, ElementRecu, PieceExtraite, ResultatExtraction, TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.fiches import FicheCourrier, FichePiece
from registre.registre import Registre
from registre.tables import Courrier
from tests.horloge import HorlogeDeTest

DEPART = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def element(contenu: bytes) -> ElementRecu:
    return ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference="lettre.eml",
        recu_le=datetime(2026, 11, 20, 7, 30, tzinfo=UTC),
        contenu=contenu,
        cles=(),
    )


@pytest.fixture
def registre_date(url_base: str, tmp_path: Path) -> Registre:
    return Registre.ouvrir(url_base, tmp_path / "donnees", HorlogeDeTest(DEPART))


def test_une_unite_de_travail_interrompue_n_ecrit_ni_ligne_ni_evenement(
    registre_date: Registre,
) -> None:
    registre = registre_date
    numero = registre.enregistrer(element(b"une lettre"), None).numero
    tete = registre.tete()
    with pytest.raises(RuntimeError), registre.transaction() as unite:
        courrier = unite.session.query(Courrier).filter_by(numero=numero).one()
        courrier.objet = "changé en douce"
        unite.sceller(TypeEvenement.CORRECTION, "test", {"objet": "changé"}, courrier)
        raise RuntimeError("panne au milieu de l'unité de travail")
    assert registre.tete() == tete
    fiche = registre.courrier(numero)
    assert fiche is not None and fiche.objet == ""
    assert registre.verifier() == []
    registre.fermer()


def test_une_unite_de_travail_validee_chaine_son_evenement(registre_date: Registre) -> None:
    registre = registre_date
    with registre.transaction() as unite:
        unite.evenement(TypeEvenement.ERREUR, "releve", {"source": "imap", "raison": "panne"})
    (dernier,) = [e for e in registre.evenements() if e.acteur == "releve"]
    assert dernier.details == '{"raison":"panne","source":"imap"}'
    assert registre.tete() == (dernier.id, dernier.empreinte)
    assert registre.verifier() == []
    registre.fermer()


def test_les_points_de_panne_du_registre_sont_ceux_qu_on_lui_donne(
    url_base: str, tmp_path: Path
) -> None:
    passages: list[str] = []
    registre = Registre.ouvrir(
        url_base, tmp_path / "donnees", HorlogeDeTest(DEPART), panne=passages.append
    )
    registre.enregistrer(element(b"premier"), None)
    registre.enregistrer(element(b"premier"), None)  # doublon : rien n'est validé de neuf
    assert passages == ["apres_archive", "avant_validation", "apres_archive"]
    assert registre.panne == passages.append
    registre.fermer()


def test_une_panne_pendant_l_enregistrement_n_ecrit_rien(url_base: str, tmp_path: Path) -> None:
    def tomber(nom: str) -> None:
        if nom == "avant_validation":
            raise RegistreErreur("coupure simulée avant la validation")

    registre = Registre.ouvrir(url_base, tmp_path / "donnees", HorlogeDeTest(DEPART), tomber)
    with pytest.raises(RegistreErreur, match="coupure simulée"):
        registre.enregistrer(element(b"une lettre"), None)
    assert registre.nombre() == 0
    assert registre.tete()[0] == 0
    registre.fermer()


def test_le_registre_rend_des_fiches_figees_du_noyau(registre_date: Registre) -> None:
    registre = registre_date
    enregistrement = registre.enregistrer(element(b"lettre avec piece"), None)
    (a_extraire,) = registre.a_extraire()
    registre.consigner_extraction(
        a_extraire.id,
        ResultatExtraction(
            texte="Bonjour, voici le plan.",
            methode="texte",
            pieces=[
                PieceExtraite(
                    rang=1,
                    nom="plan.pdf",
                    type_mime="application/pdf",
                    taille=3,
                    empreinte=registre.archive.deposer(b"pdf"),
                    texte="plan cadastral",
                    methode="pdf",
                )
            ],
        ),
    )
    fiche = registre.courrier(enregistrement.numero)
    assert isinstance(fiche, FicheCourrier)
    assert fiche.texte == "Bonjour, voici le plan."
    assert fiche.pieces == [
        FichePiece(
            id=fiche.pieces[0].id,
            courrier_id=fiche.id,
            rang=1,
            nom="plan.pdf",
            type_mime="application/pdf",
            taille=3,
            empreinte=fiche.pieces[0].empreinte,
            texte="plan cadastral",
            methode="pdf",
            confiance_ocr=None,
            pages=None,
            pages_ocr="",
            erreur="",
            en_ligne=False,
        ),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fiche.objet = "modifié hors du registre"  # type: ignore[misc]
    assert registre.courrier("2026-99999") is None
    assert registre.envoi_digest(DEPART.date()) is None
    registre.fermer()


def test_l_unite_de_travail_trouve_un_courrier_ou_dit_qu_il_n_est_pas_au_registre(
    registre_date: Registre,
) -> None:
    registre = registre_date
    numero = registre.enregistrer(element(b"une lettre"), None).numero
    tete = registre.tete()
    with registre.transaction() as unite:
        assert unite.courrier(numero).numero == numero
        assert unite.courrier(numero, tout=False).numero == numero
    with pytest.raises(RegistreErreur, match="Le courrier 2026-99999 n'est pas au registre"):
        registre.corriger_analyse("2026-99999", "secretaire", urgence="haute")
    assert registre.tete() == tete
    registre.fermer()
