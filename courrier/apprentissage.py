"""Apprendre des corrections de la secrétaire : un classifieur local, sans I/O.

Les exemples (registre/apprentissage.py) sont les courriers qu'une personne a corrigés ou
confirmés. Un classifieur par champ (catégorie, urgence, service, réponse attendue) : TF-IDF
sur l'objet, l'expéditeur (adresse et domaine) et le texte lu, régression logistique de
scikit-learn — la même famille d'outils que le classement automatique de paperless-ngx.

Le modèle n'est jamais écrit sur disque : il est ré-entraîné depuis le registre à chaque
relève (quelques dizaines de millisecondes pour quelques centaines d'exemples, voir
`preuves/apprentissage.py`), ce qui évite de charger un pickle qu'un tiers aurait pu remplacer.

Il se tait tant qu'il n'a pas assez d'exemples d'une valeur (`min_par_classe`), et quand sa
probabilité reste sous `seuil`. Il ne passe jamais devant une décision forcée de l'intégrateur,
ne touche pas un courrier suspect d'injection et n'abaisse jamais une urgence haute.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from noyau.analyse import Alerte, Analyse, CourrierALire, Urgence
from noyau.exemples import CHAMPS, OUI, Exemple, texte_lu

MIN_PAR_CLASSE = 3
SEUIL = 0.55
TEXTE_MAX = 4000  # le début d'une lettre porte l'objet et la demande
# Une valeur trop rare pour être apprise : le classifieur qui la prédit se tait.
_RARE = "\x00rare"
_ADRESSE = re.compile(r"[^a-z0-9]+")


def document(objet: str, expediteur: str, texte: str) -> str:
    """Ce que lit le vectoriseur : l'objet deux fois (il dit l'essentiel), l'expéditeur en
    jetons (« exp_… » pour l'adresse, « dom_… » pour le domaine), puis le début du texte."""
    adresse = expediteur.strip().lower()
    domaine = adresse.rpartition("@")[2]
    jetons = []
    if adresse:
        jetons.append("exp_" + _ADRESSE.sub("_", adresse))
    if domaine:
        jetons.append("dom_" + _ADRESSE.sub("_", domaine))
    return "\n".join([objet, objet, " ".join(jetons), texte[:TEXTE_MAX]])


def document_du_courrier(courrier: CourrierALire) -> str:
    return document(courrier.objet, courrier.expediteur_adresse, texte_lu(courrier))


@dataclass(frozen=True)
class Prediction:
    valeur: str
    probabilite: float


@dataclass
class Classifieur:
    """Les modèles entraînés, et de quoi retrouver les exemples les plus proches."""

    vectoriseur: Any
    matrice: Any  # les exemples vectorisés, pour `proches`
    exemples: Sequence[Exemple]
    estimateurs: dict[str, Any] = field(default_factory=dict)  # champ → LogisticRegression
    seuil: float = SEUIL

    def predire(self, courrier: CourrierALire) -> dict[str, Prediction]:
        """Les champs dont le classifieur est sûr (probabilité ≥ seuil) ; vide s'il se tait."""
        if not self.estimateurs:
            return {}
        x = self.vectoriseur.transform([document_du_courrier(courrier)])
        if x.nnz == 0:
            return {}  # aucun mot connu : la probabilité ne dirait que la fréquence des valeurs
        sures: dict[str, Prediction] = {}
        for champ, modele in self.estimateurs.items():
            probas = modele.predict_proba(x)[0]
            rang = int(probas.argmax())
            valeur, p = str(modele.classes_[rang]), float(probas[rang])
            if valeur != _RARE and p >= self.seuil:
                sures[champ] = Prediction(valeur, p)
        return sures

    def proches(self, courrier: CourrierALire, combien: int = 3) -> list[Exemple]:
        """Les exemples les plus semblables (cosinus des vecteurs TF-IDF, normés), corrigés
        d'abord à similarité égale ; jamais un exemple sans aucun mot commun."""
        if not self.exemples or combien <= 0:
            return []
        x = self.vectoriseur.transform([document_du_courrier(courrier)])
        similarites = (self.matrice @ x.T).toarray().ravel()
        ordre = sorted(
            range(len(self.exemples)),
            key=lambda i: (-similarites[i], not self.exemples[i].corrige, i),
        )
        return [self.exemples[i] for i in ordre[:combien] if similarites[i] > 0]


def entrainer(
    exemples: Sequence[Exemple], min_par_classe: int = MIN_PAR_CLASSE, seuil: float = SEUIL
) -> Classifieur | None:
    """Un classifieur par champ qui a au moins deux valeurs assez fréquentes ; None sans
    exemple. Importe scikit-learn ici seulement : la CLI n'en paie pas le chargement."""
    if not exemples:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vectoriseur = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=1,
        max_features=50_000,
    )
    documents = [document(e.objet, e.expediteur, e.texte) for e in exemples]
    try:
        matrice = vectoriseur.fit_transform(documents)
    except ValueError:  # aucun mot dans aucun exemple (scans illisibles) : rien à apprendre
        return None
    classifieur = Classifieur(vectoriseur, matrice, list(exemples), seuil=seuil)
    for champ in CHAMPS:
        lignes = [i for i, e in enumerate(exemples) if e.etiquettes.get(champ)]
        comptes = Counter(exemples[i].etiquettes[champ] for i in lignes)
        etiquettes = [
            v if comptes[v] >= min_par_classe else _RARE
            for v in (exemples[i].etiquettes[champ] for i in lignes)
        ]
        if len({v for v in etiquettes if v != _RARE}) < 2:
            continue  # une seule valeur connue : rien à départager, il se tait
        modele = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
        # Un seul fil de calcul : sur une petite machine occupée (OCR, page web), les fils
        # d'OpenBLAS se marchent dessus et l'entraînement prend dix à cent fois plus long.
        with threadpool_limits(limits=1):
            modele.fit(matrice[lignes], etiquettes)
        classifieur.estimateurs[champ] = modele
    return classifieur


def combiner(
    analyse: Analyse, predictions: Mapping[str, Prediction], services: Mapping[str, str]
) -> Analyse:
    """L'analyse des règles, où le classifieur sûr de lui l'emporte.

    Jamais devant une décision forcée ni sur un courrier suspect d'injection ; une urgence
    haute n'est jamais abaissée ; l'accusé de réception (obligation du CRPA) ne dépend pas de
    l'apprentissage. Les champs appris sont nommés dans `appris`, le moteur devient
    « regles+appris » : la secrétaire voit d'où vient le classement.
    """
    if not predictions or {Alerte.DECISION_FORCEE, Alerte.INJECTION_SUSPECTEE} & set(
        analyse.alertes
    ):
        return analyse
    maj: dict[str, Any] = {}
    categorie = predictions.get("categorie")
    if (
        categorie is not None
        and categorie.valeur in services
        and categorie.valeur != analyse.categorie
    ):
        maj["categorie"] = categorie.valeur
        maj["service"] = services[categorie.valeur]
        maj["confiance"] = round(categorie.probabilite, 3)
        maj["alertes"] = [a for a in analyse.alertes if a != Alerte.A_VERIFIER]
    service = predictions.get("service")
    appris = [c for c in ("categorie",) if c in maj]
    if service is not None and service.valeur != maj.get("service", analyse.service):
        maj["service"] = service.valeur[:120]
        appris.append("service")
    urgence = predictions.get("urgence")
    if (
        urgence is not None
        and urgence.valeur in {u.value for u in Urgence}
        and urgence.valeur != analyse.urgence.value
        and analyse.urgence != Urgence.HAUTE
    ):
        maj["urgence"] = Urgence(urgence.valeur)
        appris.append("urgence")
    reponse = predictions.get("reponse_attendue")
    if reponse is not None and (reponse.valeur == OUI) != analyse.reponse_attendue:
        maj["reponse_attendue"] = reponse.valeur == OUI
        appris.append("reponse_attendue")
    if not maj:
        return analyse
    maj["appris"] = ", ".join(appris)
    maj["moteur"] = f"{analyse.moteur}+appris"[:120]
    return analyse.model_copy(update=maj)
