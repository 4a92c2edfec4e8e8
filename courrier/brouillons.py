"""Les brouillons : accusé de réception (CRPA) et réponse, par gabarit ou par le LLM.

Rien n'est envoyé ici : chaque `Brouillon` attend la validation de la secrétaire. Les règles
(délais, sens du silence, recours, rédaction par le LLM permise) viennent de `regles/crpa.yaml`,
les gabarits Jinja2 de `regles/gabarits/` seulement. Le texte venu du courrier (objet, noms,
demande) est une donnée insérée dans le gabarit, jamais un gabarit : un objet
« {{ 7*7 }} » s'imprime tel quel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import date
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from noyau.analyse import (
    CATEGORIE_DE_REPLI,
    Analyse,
    Brouillon,
    Commune,
    CourrierALire,
    TypeBrouillon,
)
from noyau.calendrier import aujourd_hui, date_en_lettres, jour_de_paris
from noyau.crpa import (
    A_COMPLETER,
    Contact,
    ReglesCrpa,
    RegleSilence,
    normaliser,
    une_ligne,
)
from noyau.erreurs import ConfigurationErreur
from regles.crpa import DOSSIER_REGLES

logger = logging.getLogger(__name__)

ETIQUETTE_IA = "[Brouillon préparé avec l'aide d'une IA — à relire]"
GABARIT_AR = "accuse_reception"
GABARIT_LLM = "reponse_llm"  # mise en page autour d'une lettre rédigée par le LLM
GABARIT_PAR_DEFAUT = CATEGORIE_DE_REPLI  # une catégorie sans gabarit prend celui-ci
# Au-delà, la réponse du LLM est tenue pour aberrante : le gabarit prend le relais.
LONGUEUR_MAX_LLM = 20_000

RedacteurLlm = Callable[[CourrierALire, Analyse, Commune], str]


# ---------------------------------------------------------------------------------------------
# Gabarits


@lru_cache(maxsize=8)
def _environnement(dossier: str) -> SandboxedEnvironment:
    # Texte brut : pas d'échappement HTML ; une variable absente est une erreur, pas un vide.
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(dossier, encoding="utf-8"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    env.filters["date_fr"] = date_en_lettres
    return env


def _rendre(gabarits: Path, gabarit: str, contexte: Mapping[str, object]) -> str:
    fichier = gabarits / f"{gabarit}.txt.j2"
    try:
        texte = _environnement(str(gabarits)).get_template(fichier.name).render(contexte)
    except jinja2.TemplateNotFound as e:
        raise ConfigurationErreur(f"Le gabarit {fichier} est introuvable.") from e
    except jinja2.TemplateSyntaxError as e:
        raise ConfigurationErreur(
            f"Le gabarit {e.filename or fichier} est invalide (ligne {e.lineno}) : {e.message}."
        ) from e
    except jinja2.TemplateError as e:
        raise ConfigurationErreur(f"Le gabarit {fichier} n'a pas pu être rempli : {e}.") from e
    return _mettre_en_page(texte)


def _mettre_en_page(texte: str) -> str:
    lignes = [ligne.rstrip() for ligne in texte.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lignes)).strip("\n") + "\n"


def _gabarit_de_categorie(gabarits: Path, categorie: str) -> str | None:
    if re.fullmatch(r"[a-z0-9_]{1,40}", categorie) and (gabarits / f"{categorie}.txt.j2").is_file():
        return categorie
    return GABARIT_PAR_DEFAUT if (gabarits / f"{GABARIT_PAR_DEFAUT}.txt.j2").is_file() else None


# ---------------------------------------------------------------------------------------------
# Ce que les gabarits reçoivent


def _lignes(texte: str, longueur: int = 120, nombre: int = 8) -> list[str]:
    lignes = (une_ligne(ligne, longueur) for ligne in texte.splitlines())
    return [ligne for ligne in lignes if ligne][:nombre]


def mairie_de(nom: str) -> str:
    """« Mairie de Saint-Aubin », « Mairie du Mans », « Mairie des Ulis », « Mairie d'Orléans »."""
    nom = une_ligne(nom, 120) or "la commune"
    if nom.startswith("Le "):
        return f"Mairie du {nom[3:]}"
    if nom.startswith("Les "):
        return f"Mairie des {nom[4:]}"
    if normaliser(nom[:1]) in ("a", "e", "i", "o", "u", "y"):
        return f"Mairie d'{nom}"
    return f"Mairie de {nom}"


_NOMBRES = (
    *("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
    *("onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit"),
    *("dix-neuf", "vingt"),
)


def _en_lettres(n: int) -> str:
    return _NOMBRES[n] if 0 <= n < len(_NOMBRES) else str(n)


def duree_en_lettres(regle: RegleSilence) -> str:
    """« deux mois », « un mois et dix jours », « cinq jours ouvrés »."""
    parties = []
    if regle.delai_mois:
        parties.append(f"{_en_lettres(regle.delai_mois)} mois")
    if regle.delai_jours:
        unite = "jour" if regle.delai_jours == 1 else "jours"
        ouvres = (" ouvré" if regle.delai_jours == 1 else " ouvrés") if regle.jours_ouvres else ""
        parties.append(f"{_en_lettres(regle.delai_jours)} {unite}{ouvres}")
    return " et ".join(parties) or "zéro jour"


def _de(texte: str) -> str:
    """« de deux mois », « d'un mois » (onze et huit n'élident pas)."""
    return f"d'{texte}" if texte.startswith("un") else f"de {texte}"


def _salutation(nom: str) -> str:
    """« Madame », « Monsieur » quand la civilité est connue, sinon « Madame, Monsieur »."""
    debut = normaliser(nom)
    if re.search(r"\b(et|&)\b", debut):
        return "Madame, Monsieur"
    if re.match(r"(madame|mme|mlle|mademoiselle)\b", debut):
        return "Madame"
    if re.match(r"(monsieur|m\.|mr\.?)(\s|$)", debut):
        return "Monsieur"
    return "Madame, Monsieur"


def _nom_expediteur(courrier: CourrierALire, analyse: Analyse) -> str:
    nom = analyse.expediteur.nom or parseaddr(courrier.expediteur)[0]
    return une_ligne(nom, 120)


def destinataire(courrier: CourrierALire, analyse: Analyse) -> str:
    """L'adresse électronique de l'expéditeur ; l'adresse postale pour un courrier papier."""
    email = une_ligne(analyse.expediteur.email or courrier.expediteur_adresse, 320)
    postale = "\n".join(
        [_nom_expediteur(courrier, analyse), *_lignes(analyse.expediteur.adresse)]
    ).strip()
    postale = postale if analyse.expediteur.adresse.strip() else ""
    if courrier.canal == "scan":
        return postale or email
    return email or postale


def _contact_service(analyse: Analyse, commune: Commune, crpa: ReglesCrpa) -> Contact:
    nom = (
        une_ligne(analyse.service, 120)
        or crpa.service_par_categorie.get(analyse.categorie, "")
        or "Secrétariat de la mairie"
    )
    propre = crpa.services.get(nom, Contact(nom=nom))
    adresse_mairie = ", ".join([mairie_de(commune.nom), *_lignes(commune.adresse)])
    return Contact(
        nom=nom,
        adresse=propre.adresse or (adresse_mairie if commune.adresse.strip() else A_COMPLETER),
        email=propre.email or commune.email or A_COMPLETER,
        telephone=propre.telephone or commune.telephone or A_COMPLETER,
    )


def signature(commune: Commune) -> list[str]:
    """Les lignes de signature des lettres de la commune (brouillons et lettres PDF)."""
    if commune.signataire.strip():
        return _lignes(commune.signataire)
    maire = une_ligne(commune.maire, 120)
    return ["Le Maire,", maire] if maire else ["Le Maire"]


def _contexte(
    courrier: CourrierALire,
    analyse: Analyse,
    commune: Commune,
    crpa: ReglesCrpa,
    le: date | None,
) -> dict[str, object]:
    nom = _nom_expediteur(courrier, analyse)
    return {
        "commune": commune,
        "mairie": mairie_de(commune.nom),
        "commune_adresse": _lignes(commune.adresse),
        "lieu_date": f"{une_ligne(commune.nom, 120)}, le {date_en_lettres(le or aujourd_hui())}",
        "destinataire": [ligne for ligne in [nom, *_lignes(analyse.expediteur.adresse)] if ligne],
        "salutation": _salutation(nom),
        "numero": une_ligne(courrier.numero, 40),
        "objet": une_ligne(courrier.objet, 150),
        "demande": une_ligne(analyse.demande, 300),
        "categorie": analyse.categorie,
        "recu_le": jour_de_paris(courrier.recu_le),
        "service": _contact_service(analyse, commune, crpa),
        "signature": signature(commune),
    }


def _objet_reponse(courrier: CourrierALire) -> str:
    objet = une_ligne(courrier.objet, 150)
    if not objet:
        return f"Votre courrier n° {une_ligne(courrier.numero, 40)}"
    return objet if re.match(r"(re|tr|fwd?)\s?:", objet, re.IGNORECASE) else f"Re: {objet}"


# ---------------------------------------------------------------------------------------------
# Les brouillons


def accuse_reception(
    courrier: CourrierALire,
    analyse: Analyse,
    commune: Commune,
    crpa: ReglesCrpa,
    gabarits: Path | None = None,
    *,
    le: date | None = None,
) -> Brouillon:
    """L'accusé de réception d'une demande du public, avec les mentions de l'art. R112-5 CRPA."""
    gabarits = gabarits or DOSSIER_REGLES / "gabarits"
    contexte = _contexte(courrier, analyse, commune, crpa, le)
    recu = jour_de_paris(courrier.recu_le)
    regle = crpa.regle_pour(analyse.categorie, courrier.objet, analyse.demande)
    decision = crpa.date_decision(recu, regle)
    contexte |= {
        "regle": regle,
        "decision_implicite": decision,
        "delai_de": _de(duree_en_lettres(regle)),
        "recours": crpa.texte_recours(regle.recours),
    }
    dates = {"reception": recu}
    if decision is not None:
        dates["decision_implicite"] = decision
    return Brouillon(
        type=TypeBrouillon.ACCUSE_RECEPTION,
        objet=f"Accusé de réception de votre demande n° {contexte['numero']}",
        corps=_rendre(gabarits, GABARIT_AR, contexte),
        auteur=f"modele:{GABARIT_AR}",
        destinataire=destinataire(courrier, analyse),
        dates=dates,
    )


def _dates_reponse(recu: date, analyse: Analyse) -> dict[str, date]:
    dates = {"reception": recu}
    if analyse.echeance is not None:
        dates["echeance"] = analyse.echeance
    return dates


def reponse_modele(
    courrier: CourrierALire,
    analyse: Analyse,
    commune: Commune,
    crpa: ReglesCrpa,
    gabarits: Path | None = None,
    *,
    le: date | None = None,
) -> Brouillon:
    """La réponse tirée du gabarit de la catégorie (`autre` si la catégorie n'en a pas)."""
    gabarits = gabarits or DOSSIER_REGLES / "gabarits"
    gabarit = _gabarit_de_categorie(gabarits, analyse.categorie) or GABARIT_PAR_DEFAUT
    contexte = _contexte(courrier, analyse, commune, crpa, le)
    return Brouillon(
        type=TypeBrouillon.REPONSE,
        objet=_objet_reponse(courrier),
        corps=_rendre(gabarits, gabarit, contexte),
        auteur=f"modele:{gabarit}",
        destinataire=destinataire(courrier, analyse),
        dates=_dates_reponse(jour_de_paris(courrier.recu_le), analyse),
    )


def _consigne_llm(redacteur: RedacteurLlm) -> str:
    """L'empreinte de la consigne de rédaction, si le client la dit (`consigne_brouillon`)."""
    try:
        consigne = getattr(getattr(redacteur, "__self__", None), "consigne_brouillon", "")
    except Exception:  # comme pour l'auteur : une propriété qui échoue ne change rien
        return ""
    return une_ligne(consigne, 64) if isinstance(consigne, str) else ""


def _auteur_llm(redacteur: RedacteurLlm, analyse: Analyse) -> str:
    # Le rédacteur est une méthode liée d'un client : son modèle, s'il le dit, fait foi
    # (`moteur` = "llm:<modèle>" comme connecteurs.llm.ClientLLM, ou `modele`).
    client = getattr(redacteur, "__self__", None)
    try:
        moteur = getattr(client, "moteur", None)
        modele = getattr(client, "modele", None)
    except Exception:  # une propriété du client qui échoue ne change rien au brouillon
        moteur = modele = None
    if isinstance(moteur, str) and moteur.startswith("llm:") and moteur[4:].strip():
        return une_ligne(moteur, 120)
    if isinstance(modele, str) and modele.strip():
        return f"llm:{une_ligne(modele, 100)}"
    if analyse.moteur.startswith("llm:") and analyse.moteur[4:].strip():
        return analyse.moteur
    return "llm"


def _texte_llm(texte: object) -> str | None:
    if not isinstance(texte, str):
        return None
    texte = texte.replace("\r\n", "\n").replace("\r", "\n")
    texte = "".join(c for c in texte if c in "\n\t" or c.isprintable())
    texte = _mettre_en_page(texte)
    if not texte.strip() or len(texte) > LONGUEUR_MAX_LLM:
        return None
    return texte


def reponse_llm(
    courrier: CourrierALire,
    analyse: Analyse,
    commune: Commune,
    crpa: ReglesCrpa,
    redacteur_llm: RedacteurLlm,
    gabarits: Path | None = None,
    *,
    le: date | None = None,
) -> Brouillon | None:
    """La réponse rédigée par le LLM, marquée comme telle ; None s'il échoue ou répond mal.

    Le LLM écrit la lettre (appel, corps, politesse, signature) ; l'en-tête, la date, le
    destinataire et les références viennent de la mise en page de la mairie (reponse_llm.txt.j2).
    """
    try:
        texte = _texte_llm(redacteur_llm(courrier, analyse, commune))
    except Exception as e:  # toute panne du LLM se rabat sur le gabarit, jamais sur l'étape
        logger.warning(
            "Courrier %s : rédaction par le LLM impossible (%s), gabarit utilisé.",
            courrier.numero,
            type(e).__name__,
        )
        return None
    if texte is None:
        logger.warning(
            "Courrier %s : réponse du LLM vide ou aberrante, gabarit utilisé.", courrier.numero
        )
        return None
    contexte = _contexte(courrier, analyse, commune, crpa, le) | {"texte_llm": texte}
    lettre = _rendre(gabarits or DOSSIER_REGLES / "gabarits", GABARIT_LLM, contexte)
    return Brouillon(
        type=TypeBrouillon.REPONSE,
        objet=_objet_reponse(courrier),
        corps=f"{ETIQUETTE_IA}\n\n{lettre}",
        auteur=_auteur_llm(redacteur_llm, analyse),
        prepare_par_ia=True,
        consigne=_consigne_llm(redacteur_llm),
        destinataire=destinataire(courrier, analyse),
        dates=_dates_reponse(jour_de_paris(courrier.recu_le), analyse),
    )


def rediger(
    courrier: CourrierALire,
    analyse: Analyse,
    commune: Commune,
    crpa: ReglesCrpa,
    redacteur_llm: RedacteurLlm | None = None,
    gabarits: Path | None = None,
    *,
    le: date | None = None,
) -> list[Brouillon]:
    """L'étape de rédaction : accusé de réception et/ou réponse, selon l'analyse.

    Aucun brouillon pour une catégorie de `sans_brouillon` (publicité), ni quand l'analyse
    n'attend ni réponse ni accusé. La réponse est rédigée par le LLM si on en fournit un et si
    la catégorie le permet ; sinon, ou s'il échoue, par le gabarit. Rien n'est envoyé.
    """
    if analyse.categorie in crpa.sans_brouillon:
        return []
    brouillons = []
    if analyse.est_demande_usager:
        brouillons.append(accuse_reception(courrier, analyse, commune, crpa, gabarits, le=le))
    if analyse.reponse_attendue:
        reponse = None
        if redacteur_llm is not None and crpa.redaction_llm.get(analyse.categorie, False):
            reponse = reponse_llm(courrier, analyse, commune, crpa, redacteur_llm, gabarits, le=le)
        dossier = gabarits or DOSSIER_REGLES / "gabarits"
        if reponse is None and _gabarit_de_categorie(dossier, analyse.categorie) is None:
            # Ni gabarit de la catégorie ni gabarit de repli : l'analyse reste, sans réponse.
            logger.warning(
                "Courrier %s : ni gabarit « %s » ni « autre » dans %s, pas de réponse préparée.",
                courrier.numero,
                analyse.categorie[:40],
                dossier,
            )
            return brouillons
        if reponse is None:
            reponse = reponse_modele(courrier, analyse, commune, crpa, gabarits, le=le)
        brouillons.append(reponse)
    return brouillons
