"""La lecture de `regles/crpa.yaml` (et des services de `categories.yaml`) : un fichier absent,
mal formé ou incohérent lève ConfigurationErreur, qui nomme le fichier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from noyau.crpa import (
    A_COMPLETER,
    ATTESTATION_CRPA,
    Contact,
    ReglesCrpa,
    RegleSilence,
    Sens,
    normaliser,
    une_ligne,
)
from noyau.erreurs import ConfigurationErreur

DOSSIER_REGLES = Path(__file__).resolve().parent


class _RegleYaml(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nom: str = Field(default="", max_length=100)
    categories: list[str] = Field(default_factory=list)
    mots_cles: list[str] = Field(default_factory=list)
    et_mots_cles: list[str] = Field(default_factory=list)
    sens: Sens
    delai_mois: int | None = Field(default=None, ge=0, le=60)
    delai_jours: int | None = Field(default=None, ge=0, le=366)
    jours_ouvres: bool = False
    recours: str = "droit_commun"
    reference: str = ""
    mention: str = ""
    attestation: str = ATTESTATION_CRPA


class _SilenceYaml(BaseModel):
    model_config = ConfigDict(extra="forbid")

    general: _RegleYaml
    proroger: bool = True
    exceptions: list[_RegleYaml] = Field(default_factory=list)

    @model_validator(mode="after")
    def _exceptions_ciblees(self) -> _SilenceYaml:
        for i, regle in enumerate(self.exceptions, start=1):
            if not (regle.categories or regle.mots_cles):
                raise ValueError(
                    f"l'exception n° {i} ({regle.nom or 'sans nom'}) n'a ni `categories` "
                    "ni `mots_cles` : elle s'appliquerait à tout"
                )
        return self


class _ContactYaml(BaseModel):
    model_config = ConfigDict(extra="forbid")

    adresse: str = ""
    email: str = ""
    telephone: str = ""


class _CrpaYaml(BaseModel):
    model_config = ConfigDict(extra="forbid")

    silence: _SilenceYaml
    tribunal_administratif: str = f"tribunal administratif de {A_COMPLETER}"
    recours: dict[str, str] = Field(default_factory=dict)
    services: dict[str, _ContactYaml] = Field(default_factory=dict)
    alsace_moselle: bool = False
    redaction_llm: dict[str, bool] = Field(default_factory=dict)
    sans_brouillon: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _recours_connus(self) -> _CrpaYaml:
        if "droit_commun" not in self.recours:
            raise ValueError("la section `recours` doit contenir `droit_commun`")
        for regle in [self.silence.general, *self.silence.exceptions]:
            if regle.recours not in self.recours:
                raise ValueError(
                    f"la règle {regle.nom or 'générale'} cite le recours « {regle.recours} », "
                    "absent de la section `recours`"
                )
        return self


def _regle(source: _RegleYaml, defaut: RegleSilence | None, nom: str) -> RegleSilence:
    sans_delai = source.delai_mois is None and source.delai_jours is None
    if sans_delai and defaut is not None:
        mois, jours = defaut.delai_mois, defaut.delai_jours
    else:
        mois, jours = source.delai_mois or 0, source.delai_jours or 0
    return RegleSilence(
        nom=source.nom or nom,
        sens=source.sens,
        delai_mois=mois,
        delai_jours=jours,
        jours_ouvres=source.jours_ouvres,
        recours=source.recours,
        reference=une_ligne(source.reference, 300),
        mention=une_ligne(source.mention, 1000),
        attestation=une_ligne(source.attestation, 300),
        categories=tuple(source.categories),
        mots_cles=tuple(normaliser(m) for m in source.mots_cles if m.strip()),
        et_mots_cles=tuple(normaliser(m) for m in source.et_mots_cles if m.strip()),
    )


def _lire_yaml(fichier: Path) -> Any:
    try:
        return yaml.safe_load(fichier.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigurationErreur(f"Le fichier de règles {fichier} est introuvable.") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationErreur(f"Le fichier de règles {fichier} est illisible.") from e
    except yaml.YAMLError as e:
        ligne = getattr(getattr(e, "problem_mark", None), "line", None)
        ou = f" (ligne {ligne + 1})" if ligne is not None else ""
        raise ConfigurationErreur(
            f"Le fichier de règles {fichier} n'est pas un YAML valide{ou}."
        ) from e


def _services_des_categories(dossier: Path) -> dict[str, str]:
    fichier = dossier / "categories.yaml"
    if not fichier.is_file():
        return {}
    donnees = _lire_yaml(fichier)
    categories = donnees.get("categories") if isinstance(donnees, dict) else None
    if not isinstance(categories, dict):
        raise ConfigurationErreur(f"Le fichier de règles {fichier} n'a pas de section categories.")
    return {
        str(cle): str(valeur["service"])
        for cle, valeur in categories.items()
        if isinstance(valeur, dict) and isinstance(valeur.get("service"), str)
    }


def charger_crpa(dossier: Path | None = None) -> ReglesCrpa:
    """Lit `crpa.yaml` (et les services de `categories.yaml`) du dossier de règles.

    Un fichier absent, mal formé ou incohérent lève ConfigurationErreur, qui nomme le fichier.
    """
    dossier = dossier or DOSSIER_REGLES
    fichier = dossier / "crpa.yaml"
    donnees = _lire_yaml(fichier)
    try:
        lu = _CrpaYaml.model_validate(donnees)
    except ValidationError as e:
        premiere = e.errors()[0]
        ou = ".".join(str(p) for p in premiere["loc"]) or "racine"
        raison = premiere["msg"].removeprefix("Value error, ")
        raise ConfigurationErreur(
            f"Le fichier de règles {fichier} est invalide ({ou}) : {raison}."
        ) from e
    general = _regle(lu.silence.general, None, "general")
    return ReglesCrpa(
        general=general,
        exceptions=tuple(
            _regle(r, general, f"exception_{i}") for i, r in enumerate(lu.silence.exceptions, 1)
        ),
        proroger=lu.silence.proroger,
        alsace_moselle=lu.alsace_moselle,
        tribunal_administratif=une_ligne(lu.tribunal_administratif, 200) or A_COMPLETER,
        recours={nom: " ".join(texte.split()) for nom, texte in lu.recours.items()},
        services={
            nom: Contact(nom=nom, adresse=c.adresse, email=c.email, telephone=c.telephone)
            for nom, c in lu.services.items()
        },
        redaction_llm=dict(lu.redaction_llm),
        sans_brouillon=frozenset(lu.sans_brouillon),
        service_par_categorie=_services_des_categories(dossier),
        fichier=fichier,
    )
