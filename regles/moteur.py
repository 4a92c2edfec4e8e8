"""Le moteur de règles : classe, résume et date un courrier sans LLM, et tient le LLM en bride.

Sans LLM configuré, `MoteurRegles.analyser` fait toute l'analyse (le défaut livré) ; quand le
LLM échoue, `prendre_le_relais` la fait et le signale ; quand il répond, `valider` confronte sa
réponse aux règles de l'intégrateur (catégories connues, table d'aiguillage, décisions
forcées) et au texte (injection d'instructions). Les règles viennent de `regles/*.yaml`
(voir `regles.chargement`). Aucune entrée-sortie ici : ni fichier, ni réseau, ni base.

Un courrier est une donnée, jamais un ordre : les phrases qui tentent de commander le système
sont retirées avant de calculer catégorie et urgence, et une alerte est levée.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr

from courrier.analyse import Alerte, Analyse, CourrierALire, Expediteur, Urgence
from regles.echeances import Echeance, jour_a_paris, trouver_echeance
from regles.texte import PUCE, Expression, TexteNormalise, compiler, normaliser, phrases

# Un long texte dit son sujet dans ses premières pages ; au-delà, lire coûterait sans rien
# apprendre (un courrier peut compter un million de caractères).
TEXTE_LU_MAX = 20_000
PIECE_LUE_MAX = 5_000
PIECES_LUES_MAX = 5
# L'injection se cherche plus loin que le sujet : le LLM lit aussi la fin du texte et les
# pièces jointes.
INJECTION_LUE_MAX = 300_000
RESUME_MAX = 1200
DEMANDE_MAX = 500
ALERTES_MAX = 10
# Les champs d'une analyse du LLM que les règles remplacent quand il les a rendus invalides.
CHAMPS_REMPLACABLES = frozenset(
    {
        "service",
        "urgence",
        "resume",
        "expediteur",
        "demande",
        "reponse_attendue",
        "est_demande_usager",
        "echeance",
        "confiance",
    }
)

PUBLICITE = "publicite"
# Indices de démarchage distincts au-delà desquels un courrier est une publicité quel que soit
# son sujet ; en dessous, il peut être l'annonce d'une association ou d'un service public.
INDICES_DEMARCHAGE_MIN = 3
APPEL_MOTS_MAX = 8  # au-delà, « Monsieur le Maire » est dans une vraie phrase

Ponderee = tuple[str, float]  # (expression, poids)


class Nature(enum.StrEnum):
    """Qui écrit : décide si une réponse et un accusé de réception (CRPA) sont attendus."""

    USAGER = "usager"  # un habitant, une association
    ADMINISTRATION = "administration"  # préfecture, intercommunalité, État, collectivités
    FOURNISSEUR = "fournisseur"  # factures, devis
    DEMARCHAGE = "demarchage"  # publicité, lettres commerciales


@dataclass(frozen=True)
class Categorie:
    id: str
    libelle: str
    service: str
    contact: str = ""
    urgence: Urgence = Urgence.NORMALE  # quand rien dans le texte n'en dit plus


@dataclass(frozen=True)
class RegleExpediteur:
    motif: str  # adresse exacte (avec « @ ») ou domaine, « * » permis
    nom: str = ""
    nature: Nature = Nature.USAGER
    categorie: str | None = None
    poids: float = 3.0


@dataclass(frozen=True)
class DecisionForcee:
    nom: str
    expediteur: str | None = None  # motif d'adresse, comme RegleExpediteur.motif
    objet: str | None = None  # expression cherchée dans l'objet
    texte: str | None = None  # expression cherchée dans le texte
    categorie: str | None = None
    urgence: Urgence | None = None
    service: str | None = None


@dataclass(frozen=True)
class Reglages:
    seuil_categorie: float = 2.5
    poids_objet: float = 2.0
    poids_pieces: float = 0.5
    confiance_a_verifier: float = 0.45
    seuil_haute: float = 2.0
    seuil_basse: float = 2.0
    echeance_proche_jours: int = 3


@dataclass(frozen=True)
class Regles:
    """Les règles de l'intégrateur, lues et vérifiées (voir `regles.chargement`)."""

    categories: Mapping[str, Categorie]
    mots_cles: Mapping[str, tuple[Ponderee, ...]] = field(default_factory=dict)
    expediteurs: tuple[RegleExpediteur, ...] = ()
    indices_nature: Mapping[Nature, tuple[str, ...]] = field(default_factory=dict)
    urgence_haute: tuple[Ponderee, ...] = ()
    urgence_basse: tuple[Ponderee, ...] = ()
    injection: tuple[str, ...] = ()
    demande: tuple[Ponderee, ...] = ()
    politesse: tuple[str, ...] = ()
    appel: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    information: tuple[str, ...] = ()
    decisions: tuple[DecisionForcee, ...] = ()
    reglages: Reglages = field(default_factory=Reglages)

    def service(self, categorie: str) -> str:
        """La table d'aiguillage : le service d'une catégorie."""
        return self.categories[categorie].service


# --------------------------------------------------------------------------------------------
# Adresses
# --------------------------------------------------------------------------------------------


def adresse_correspond(adresse: str, motif: str) -> bool:
    """Vrai si l'adresse électronique relève du motif (adresse exacte ou domaine, avec « * »)."""
    adresse = adresse.strip().lower()
    motif = motif.strip().lower()
    if not adresse or not motif:
        return False
    if "@" in motif:
        return fnmatch.fnmatchcase(adresse, motif)
    domaine = adresse.rpartition("@")[2]
    return fnmatch.fnmatchcase(domaine, motif) or fnmatch.fnmatchcase(domaine, "*." + motif)


def _precision(motif: str) -> tuple[int, int]:
    return (1 if "@" in motif else 0, len(motif.replace("*", "")))


_COURRIEL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TELEPHONE = re.compile(r"(t[ée]l|portable|mobile|fax)\b|(?:\d{2}[ .]?){4}\d{2}", re.IGNORECASE)
_VOIE = re.compile(
    r"^(\d+\s*(bis|ter|b)?\s*,?\s*)?(rue|route|rte|chemin|ch|avenue|av|impasse|imp|allee|place|"
    r"pl|boulevard|bd|quai|cours|passage|square|sentier|voie|lieu dit|hameau|residence|"
    r"lotissement|lot|cite|faubourg|promenade|rond point|clos|parc|zone|za|zi|bp|cs|"
    r"batiment|bat|appartement|appt|le bourg)\b"
)
_CODE_POSTAL = re.compile(r"(^|\s)\d{5}\s+[a-z]")
_MENTION_LEGALE = re.compile(r"\b(siret|siren|rcs|ape|naf|capital|tva|iban|bic|sarl|sas)\b")
# Ce qui termine le bloc de l'expéditeur en tête d'une lettre : le destinataire, l'objet,
# la date, l'appel.
_FIN_DU_BLOC = re.compile(
    r"^(monsieur|madame|mesdames|messieurs|a monsieur|a madame|mairie|objet|obj|a l attention|"
    r"m le maire|mme la maire|le maire|service|reference|ref|v ref|n ref)\b"
)
_LIEU_DATE = re.compile(r",\s*le\s+\d", re.IGNORECASE)
# Mots laissés en minuscules quand un nom écrit en capitales est remis en casse de titre.
_PETITS_MOTS = frozenset({"de", "du", "des", "la", "le", "les", "et", "d", "l", "a", "au", "aux"})


def _casse_de_nom(ligne: str) -> str:
    """« MENUISERIE DUBREUIL » devient « Menuiserie Dubreuil » ; le reste est gardé tel quel."""
    if not ligne.isupper():
        return ligne
    mots = []
    for rang, mot in enumerate(ligne.lower().split()):
        mots.append(mot if rang and mot in _PETITS_MOTS else mot[:1].upper() + mot[1:])
    return " ".join(mots)


def _est_adresse(ligne: str) -> bool:
    norme = normaliser(ligne)
    return bool(_VOIE.match(norme) or _CODE_POSTAL.search(norme))


def expediteur_du_papier(texte: str) -> Expediteur:
    """Le bloc de l'expéditeur en tête d'une lettre (scan) : nom, adresse, courriel."""
    nom = ""
    adresse: list[str] = []
    courriel = ""
    lignes = [ligne.strip() for ligne in texte.splitlines() if ligne.strip()][:15]
    for ligne in lignes:
        norme = normaliser(ligne)
        if _FIN_DU_BLOC.match(norme) or _LIEU_DATE.search(ligne):
            break
        trouve = _COURRIEL.search(ligne)
        if trouve and not courriel:
            courriel = trouve.group(0).lower()
        if _est_adresse(ligne) and not _MENTION_LEGALE.search(norme):
            adresse.append(ligne)
        elif (
            not nom
            and not trouve
            and not _TELEPHONE.search(ligne)
            and not _MENTION_LEGALE.search(norme)
            and any(c.isalpha() for c in ligne)
        ):
            nom = _casse_de_nom(ligne)
    return Expediteur(nom=nom[:200], email=courriel[:320], adresse="\n".join(adresse)[:500])


def adresse_de_signature(texte: str) -> str:
    """L'adresse postale écrite sous la signature d'un courriel, s'il y en a une."""
    lignes = [ligne.strip() for ligne in texte.splitlines() if ligne.strip()][-8:]
    trouvees = [
        ligne
        for ligne in lignes
        if _est_adresse(ligne) and "mairie" not in normaliser(ligne) and len(ligne) <= 120
    ]
    return "\n".join(trouvees)[:500]


# --------------------------------------------------------------------------------------------
# Le moteur
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ponderee:
    expression: Expression
    poids: float


@dataclass(frozen=True)
class _Decision:
    regle: DecisionForcee
    objet: Expression | None
    texte: Expression | None


@dataclass
class _Lecture:
    """Ce que le moteur a lu d'un courrier, partagé par `analyser` et `valider`."""

    objet: str
    texte: str  # corps lu (ou texte des pièces quand le corps est vide), tronqué
    phrases: list[str]  # phrases du texte, sans les phrases injectées
    phrases_injectees: list[str]
    injection: bool
    vide: bool
    adresse: str  # adresse électronique de l'en-tête, en minuscules
    jour: date
    objet_n: TexteNormalise
    texte_n: TexteNormalise  # sans les phrases injectées
    pieces_n: TexteNormalise
    regle_expediteur: RegleExpediteur | None = None
    nature: Nature = Nature.USAGER
    indices: dict[Nature, int] = field(default_factory=dict)  # indices distincts trouvés
    scores: dict[str, float] = field(default_factory=dict)


_OBJET_DANS_LE_TEXTE = re.compile(r"^\s*(?:objet|obj\.)\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_QUESTION = re.compile(r"\?(?=\s|$|[»\"')])")
_NEGATION = frozenset({"pas", "aucun", "aucune", "sans", "ni", "jamais", "non"})


def _compter(n: int) -> float:
    """Une expression répétée compte un peu plus, sans qu'un mot martelé fasse tout."""
    return 0.0 if n == 0 else min(2.0, 1.0 + 0.5 * (n - 1))


def _tout_le_courrier(courrier: CourrierALire) -> str:
    """Objet, texte et pièces jointes, ce que le LLM peut lire, dans une limite raisonnable."""
    morceaux = [courrier.objet, courrier.texte, *(t for _, t in courrier.pieces)]
    return "\n".join(morceaux)[:INJECTION_LUE_MAX]


def _sans_doublons(alertes: Iterable[Alerte]) -> list[Alerte]:
    return list(dict.fromkeys(alertes))[:ALERTES_MAX]


class MoteurRegles:
    """L'analyse d'un courrier par les règles, et le contrôle de celle d'un LLM."""

    def __init__(self, regles: Regles) -> None:
        self.regles = regles

        def ponderees(paires: Iterable[Ponderee]) -> tuple[_Ponderee, ...]:
            return tuple(_Ponderee(compiler(e), float(p)) for e, p in paires)

        self._mots_cles = {c: ponderees(m) for c, m in regles.mots_cles.items()}
        self._haute = ponderees(regles.urgence_haute)
        self._basse = ponderees(regles.urgence_basse)
        self._demande = ponderees(regles.demande)
        self._injection = tuple(compiler(e) for e in regles.injection)
        self._politesse = tuple(compiler(e) for e in regles.politesse)
        self._appel = tuple(compiler(e) for e in regles.appel)
        self._condition = tuple(compiler(e) for e in regles.condition)
        self._information = tuple(compiler(e) for e in regles.information)
        self._indices = {
            n: tuple(compiler(e) for e in es) for n, es in regles.indices_nature.items()
        }
        self._decisions = tuple(
            _Decision(
                d,
                compiler(d.objet) if d.objet else None,
                compiler(d.texte) if d.texte else None,
            )
            for d in regles.decisions
        )
        # La plus précise d'abord : adresse exacte, puis le domaine le plus long.
        self._expediteurs = sorted(
            regles.expediteurs, key=lambda r: _precision(r.motif), reverse=True
        )

    # ----------------------------------------------------------------------------------------
    # API
    # ----------------------------------------------------------------------------------------

    def analyser(self, courrier: CourrierALire) -> Analyse:
        """Toute l'analyse d'un courrier par les règles seules (moteur « regles »)."""
        lecture = self._lire(courrier)
        return self._appliquer_decisions(self._analyser(courrier, lecture), lecture)

    def _analyser(self, courrier: CourrierALire, lecture: _Lecture) -> Analyse:
        categorie, confiance = self._classer(lecture)
        echeance = trouver_echeance("\n".join([lecture.objet, *lecture.phrases]), lecture.jour)
        urgence = self._urgence(lecture, categorie, echeance)
        demande, poids_demande = self._demande_de(lecture)
        reponse, usager = self._reponse_attendue(lecture, categorie, poids_demande)
        alertes: list[Alerte] = []
        if lecture.injection:
            alertes.append(Alerte.INJECTION_SUSPECTEE)
        if lecture.vide:
            alertes.append(Alerte.TEXTE_ABSENT)
        if confiance < self.regles.reglages.confiance_a_verifier:
            alertes.append(Alerte.A_VERIFIER)
        return Analyse(
            categorie=categorie,
            service=self.regles.service(categorie),
            urgence=urgence,
            resume=self._resume(lecture, categorie, demande),
            expediteur=self._expediteur(courrier, lecture),
            demande=demande[:DEMANDE_MAX],
            reponse_attendue=reponse,
            est_demande_usager=usager,
            echeance=echeance.date if echeance else None,
            confiance=confiance,
            moteur="regles",
            alertes=_sans_doublons(alertes),
        )

    def categories(self) -> dict[str, str]:
        """Identifiant → libellé de chaque catégorie, dans l'ordre de categories.yaml."""
        return {c.id: c.libelle for c in self.regles.categories.values()}

    def services(self) -> dict[str, str]:
        """La table d'aiguillage : identifiant de catégorie → service."""
        return {c.id: c.service for c in self.regles.categories.values()}

    def prendre_le_relais(self, courrier: CourrierALire) -> Analyse:
        """L'analyse des règles quand le LLM a échoué (panne, délai, réponse illisible)."""
        analyse = self.analyser(courrier)
        alertes = _sans_doublons([Alerte.LLM_INDISPONIBLE, *analyse.alertes])
        return analyse.model_copy(update={"alertes": alertes})

    def detecter_injection(self, texte: str) -> bool:
        """Vrai si le texte tente de donner des ordres au système."""
        norme = TexteNormalise(texte)
        return any(norme.contient(e) for e in self._injection)

    def valider(self, analyse: Analyse, courrier: CourrierALire) -> Analyse:
        """Confronte l'analyse d'un LLM aux règles et au texte ; rend l'analyse corrigée.

        - catégorie inconnue : celle des règles, alertes « à vérifier » et « LLM incohérent » ;
        - service : toujours celui de la table d'aiguillage ;
        - injection d'instructions : alerte ; la catégorie est celle des règles (calculée sans
          les phrases injectées) dès que le LLM s'en écarte, avec « à vérifier » ; une urgence
          « haute » sans vrai marqueur hors de ces phrases est ramenée à celle des règles ; une
          vraie urgence n'est jamais abaissée ;
          résumé et demande sont ceux des règles, écrits sans les paragraphes hostiles ;
        - décisions forcées de l'intégrateur : appliquées en dernier, alerte « décision forcée » ;
        - champs laissés vides par le LLM (résumé, expéditeur, échéance) : ceux des règles ;
          de même pour les champs invalides écartés à la lecture (`Analyse.ecartes`).
        """
        lecture = self._lire(courrier)
        propre = self._analyser(courrier, lecture)
        # Un champ que le LLM a rendu invalide (écarté à la lecture) : celui des règles. Ses
        # alertes, elles, restent les siennes (l'alerte « à vérifier » de l'écart en fait partie).
        remplaces = {
            champ: getattr(propre, champ)
            for champ in analyse.ecartes
            if champ in CHAMPS_REMPLACABLES
        }
        if remplaces:
            analyse = analyse.model_copy(update=remplaces)
        alertes = list(analyse.alertes)
        categorie = analyse.categorie
        confiance = analyse.confiance
        if categorie not in self.regles.categories:
            categorie = propre.categorie
            confiance = min(confiance, propre.confiance)
            alertes += [Alerte.A_VERIFIER, Alerte.LLM_INCOHERENT]
        urgence = analyse.urgence
        if lecture.injection:
            alertes.append(Alerte.INJECTION_SUSPECTEE)
            # Le LLM a lu les ordres : s'il s'écarte des règles (calculées sans les phrases
            # injectées), c'est peut-être qu'il a obéi. Les règles tranchent, un humain vérifie.
            if categorie != propre.categorie:
                categorie = propre.categorie
                confiance = min(confiance, propre.confiance)
                alertes.append(Alerte.A_VERIFIER)
            if urgence == Urgence.HAUTE and propre.urgence != Urgence.HAUTE:
                urgence = propre.urgence
            elif propre.urgence == Urgence.HAUTE:
                urgence = Urgence.HAUTE
        if lecture.vide:
            alertes.append(Alerte.TEXTE_ABSENT)
        expediteur = analyse.expediteur
        if not (expediteur.nom or expediteur.email):
            expediteur = propre.expediteur
        resume, demande = analyse.resume or propre.resume, analyse.demande
        if lecture.injection:
            # Le LLM a lu les ordres injectés : ce qu'il en a tiré ne s'affiche pas.
            resume, demande = propre.resume, propre.demande
        usager = analyse.est_demande_usager
        if lecture.nature != Nature.USAGER:
            # Préfecture, fournisseur, démarchage : pas une demande du public au sens du CRPA.
            usager = False
        corrigee = analyse.model_copy(
            update={
                "categorie": categorie,
                "service": self.regles.service(categorie),
                "urgence": urgence,
                "confiance": confiance,
                "resume": resume,
                "demande": demande,
                "expediteur": expediteur,
                "echeance": analyse.echeance or propre.echeance,
                "est_demande_usager": usager,
                "alertes": _sans_doublons(alertes),
            }
        )
        return self._appliquer_decisions(corrigee, lecture)

    # ----------------------------------------------------------------------------------------
    # Lecture
    # ----------------------------------------------------------------------------------------

    def _lire(self, courrier: CourrierALire) -> _Lecture:
        texte = courrier.texte[:TEXTE_LU_MAX]
        pieces = [t[:PIECE_LUE_MAX] for _, t in courrier.pieces[:PIECES_LUES_MAX] if t.strip()]
        vide = not texte.strip() and not pieces
        if not texte.strip() and pieces:
            # Courriel « voir pièce jointe » : la pièce est le courrier.
            texte, pieces = "\n\n".join(pieces)[:TEXTE_LU_MAX], []
        objet = courrier.objet.strip()
        if not objet:
            trouve = _OBJET_DANS_LE_TEXTE.search(texte[:3000])
            objet = trouve.group(1).strip() if trouve else ""
        if self.detecter_injection(objet):
            objet = ""  # un objet qui donne des ordres ne dit rien du sujet
        toutes = phrases(texte)
        gardees, injectees = self._retirer_injections(toutes)
        adresse = (courrier.expediteur_adresse or parseaddr(courrier.expediteur)[1]).lower()
        lecture = _Lecture(
            objet=objet,
            texte=texte,
            phrases=gardees,
            phrases_injectees=injectees,
            injection=bool(injectees) or self.detecter_injection(_tout_le_courrier(courrier)),
            vide=vide,
            adresse=adresse.strip(),
            jour=jour_a_paris(courrier.recu_le),
            objet_n=TexteNormalise(objet),
            texte_n=TexteNormalise("\n".join(gardees)),
            pieces_n=TexteNormalise("\n".join(pieces)),
        )
        lecture.regle_expediteur = self._regle_expediteur(adresse, texte)
        lecture.nature = self._nature(lecture)
        lecture.scores = self._scores(lecture)
        return lecture

    def _retirer_injections(self, toutes: list[tuple[int, str]]) -> tuple[list[str], list[str]]:
        """Sépare du reste les paragraphes qui donnent des ordres.

        Tout le paragraphe part, pas seulement la phrase reconnue : l'attaquant y accompagne
        ses ordres d'affirmations (« danger de mort, incendie en cours ») qui ne doivent pas
        compter. Un ordre qui finit par « : » annonce un texte dicté : le paragraphe suivant
        part aussi. La secrétaire voit toujours le courrier entier.
        """
        hostiles: set[int] = set()
        for rang, phrase in toutes:
            norme = TexteNormalise(phrase)
            if any(norme.contient(e) for e in self._injection):
                hostiles.add(rang)
                if phrase.rstrip(" «\"'").endswith(":"):
                    hostiles.add(rang + 1)
        gardees = [p for rang, p in toutes if rang not in hostiles]
        injectees = [p for rang, p in toutes if rang in hostiles]
        return gardees, injectees

    def _regle_expediteur(self, adresse: str, texte: str) -> RegleExpediteur | None:
        if not adresse:
            # Lettre papier : le courriel imprimé dans l'en-tête oriente le classement (jamais
            # une décision forcée, qui ne regarde que l'en-tête du courriel).
            adresse = expediteur_du_papier(texte).email
        return next((r for r in self._expediteurs if adresse_correspond(adresse, r.motif)), None)

    def _nature(self, lecture: _Lecture) -> Nature:
        tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
        comptes = {
            nature: sum(1 for e in indices if tout.contient(e))
            for nature, indices in self._indices.items()
        }
        lecture.indices = dict(comptes)
        regle = lecture.regle_expediteur
        if regle is not None and regle.nature != Nature.USAGER:
            return regle.nature
        if regle is not None:
            # Une messagerie grand public n'est jamais la préfecture.
            comptes.pop(Nature.ADMINISTRATION, None)
        candidates = [(n, c) for n, c in comptes.items() if c >= 2]
        if not candidates:
            return Nature.USAGER
        return max(candidates, key=lambda p: p[1])[0]

    # ----------------------------------------------------------------------------------------
    # Catégorie
    # ----------------------------------------------------------------------------------------

    def _scores(self, lecture: _Lecture) -> dict[str, float]:
        reglages = self.regles.reglages
        scores = dict.fromkeys(self.regles.categories, 0.0)
        for categorie, motifs in self._mots_cles.items():
            total = 0.0
            for m in motifs:
                total += m.poids * (
                    reglages.poids_objet * _compter(len(lecture.objet_n.occurrences(m.expression)))
                    + _compter(len(lecture.texte_n.occurrences(m.expression)))
                    + reglages.poids_pieces
                    * _compter(len(lecture.pieces_n.occurrences(m.expression)))
                )
            scores[categorie] += total
        regle = lecture.regle_expediteur
        if regle is not None and regle.categorie in scores:
            scores[regle.categorie] += regle.poids
        return scores

    def _classer(self, lecture: _Lecture) -> tuple[str, float]:
        """La catégorie au plus haut score et la confiance qu'on peut lui accorder."""
        reglages = self.regles.reglages
        scores = dict(lecture.scores)
        if lecture.nature == Nature.ADMINISTRATION:
            # Une administration ne fait pas de publicité : sa lettre d'information va dans
            # son sujet, pas avec le démarchage.
            scores.pop(PUBLICITE, None)
        classement = sorted(scores.items(), key=lambda p: p[1], reverse=True)
        if (
            PUBLICITE in scores
            and lecture.nature == Nature.DEMARCHAGE
            and lecture.indices.get(Nature.DEMARCHAGE, 0) >= INDICES_DEMARCHAGE_MIN
            and classement[0][0] != PUBLICITE
        ):
            # Un courrier qui vend est une publicité, quel que soit le sujet de ce qu'il vend.
            return PUBLICITE, 0.6
        (meilleure, s1), s2 = classement[0], classement[1][1] if len(classement) > 1 else 0.0
        if s1 < reglages.seuil_categorie:
            # Rien de net : « autre », et la secrétaire tranchera.
            return "autre", round(0.1 + 0.2 * s1 / reglages.seuil_categorie, 2)
        marge = (s1 - s2) / s1
        force = min(1.0, s1 / (4 * reglages.seuil_categorie))
        return meilleure, round(min(0.95, 0.3 + 0.65 * marge * force + 0.05), 2)

    # ----------------------------------------------------------------------------------------
    # Urgence, demande, réponse
    # ----------------------------------------------------------------------------------------

    def _score_marqueurs(self, texte: TexteNormalise, marqueurs: Iterable[_Ponderee]) -> float:
        """Somme des poids des marqueurs présents (une fois chacun), hors négation."""
        total = 0.0
        for m in marqueurs:
            for trouve in texte.occurrences(m.expression, maximum=5):
                avant = texte.texte[max(0, trouve.start() - 40) : trouve.start()].split()[-3:]
                if not _NEGATION.intersection(avant):
                    total += m.poids
                    break
        return total

    def _urgence(self, lecture: _Lecture, categorie: str, echeance: Echeance | None) -> Urgence:
        reglages = self.regles.reglages
        tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
        proche = (
            echeance is not None
            and echeance.annoncee
            and (echeance.date - lecture.jour).days <= reglages.echeance_proche_jours
        )
        if proche or self._score_marqueurs(tout, self._haute) >= reglages.seuil_haute:
            return Urgence.HAUTE
        if self._score_marqueurs(tout, self._basse) >= reglages.seuil_basse:
            return Urgence.BASSE
        return self.regles.categories[categorie].urgence

    def _est_politesse(self, norme: TexteNormalise) -> bool:
        """Formule de politesse, ou formule d'appel qui fait toute la phrase."""
        if any(norme.contient(e) for e in self._politesse):
            return True
        return len(norme.texte.split()) <= APPEL_MOTS_MAX and any(
            norme.contient(e) for e in self._appel
        )

    def _sous_condition(self, norme: TexteNormalise) -> bool:
        return any(t.start() == 0 for e in self._condition for t in norme.occurrences(e, 1))

    def _est_information(self, norme: TexteNormalise) -> bool:
        return any(norme.contient(e) for e in self._information)

    def _demande_de(self, lecture: _Lecture) -> tuple[str, float]:
        """La phrase qui porte la demande (le plus fort marqueur, la première à égalité) et le
        poids de ce marqueur ; ("", 0) sans demande."""
        meilleure, poids_max = "", 0.0
        for phrase in lecture.phrases:
            norme = TexteNormalise(phrase)
            if (
                self._est_politesse(norme)
                or self._est_information(norme)
                or self._sous_condition(norme)
            ):
                continue
            poids = max((m.poids for m in self._demande if norme.contient(m.expression)), default=0)
            if poids > poids_max:
                meilleure, poids_max = phrase, poids
        return meilleure, poids_max

    def _reponse_attendue(
        self, lecture: _Lecture, categorie: str, poids_demande: float
    ) -> tuple[bool, bool]:
        """(réponse attendue, demande d'usager au sens du CRPA).

        Factures, publicité : rien à répondre. Administration : une réponse seulement quand
        elle demande nettement quelque chose à la mairie, jamais un accusé de réception.
        Usager : une demande, un signalement ou une question appellent réponse et accusé de
        réception, sauf dans une lettre d'information.
        """
        if lecture.nature in (Nature.FOURNISSEUR, Nature.DEMARCHAGE) or categorie == PUBLICITE:
            return False, False
        if lecture.nature == Nature.ADMINISTRATION:
            return poids_demande >= 2, False
        tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
        if self._est_information(tout):
            attendue = poids_demande >= 2
        else:
            question = any(_QUESTION.search(p) for p in lecture.phrases)
            attendue = poids_demande > 0 or question
        return attendue, attendue

    # ----------------------------------------------------------------------------------------
    # Résumé et expéditeur
    # ----------------------------------------------------------------------------------------

    def _phrase_informative(self, phrase: str) -> bool:
        """Vrai pour une phrase qui dit quelque chose : ni titre, ni ligne de tableau ou de
        formulaire, ni coordonnées, ni formule de politesse."""
        if len(phrase) < 30 or sum(any(c.isalpha() for c in m) for m in phrase.split()) < 5:
            return False
        if " | " in phrase or PUCE.match(phrase):
            return False
        if len(phrase) < 60 and not phrase.rstrip(" »\"')").endswith((".", "!", "?", "…")):
            return False  # un titre, une ligne d'en-tête
        lettres = [c for c in phrase if c.isalpha()]
        if sum(c.isupper() for c in lettres) > 0.6 * len(lettres):
            return False
        if _COURRIEL.search(phrase) or re.search(r"https?://|www\.", phrase):
            return False
        chiffres = sum(c.isdigit() for c in phrase)
        if chiffres > 0.25 * len(phrase):
            return False
        # « Nom : LEFÈVRE », « Date : … » : une ligne de formulaire, pas une phrase.
        tete, deux_points, _ = phrase.partition(":")
        if deux_points and len(tete.split()) <= 4 and len(phrase) < 80:
            return False
        norme = TexteNormalise(phrase)
        return not self._est_politesse(norme)

    def _resume(self, lecture: _Lecture, categorie: str, demande: str) -> str:
        """Deux ou trois phrases du courrier, les plus parlantes, dans leur ordre."""
        if lecture.vide:
            objet = f" Objet : « {lecture.objet} »." if lecture.objet else ""
            return f"Courrier sans texte lisible.{objet}"[:RESUME_MAX]
        candidates = [
            (rang, p) for rang, p in enumerate(lecture.phrases) if self._phrase_informative(p)
        ]
        notes: list[tuple[float, int, str]] = []
        for ordre, (rang, phrase) in enumerate(candidates):
            norme = TexteNormalise(phrase)
            note = 1.0 + (1.0 if ordre == 0 else 0.5 if ordre < 3 else 0.0)
            note += min(
                4.0,
                sum(
                    m.poids
                    for m in self._mots_cles.get(categorie, ())
                    if norme.contient(m.expression)
                ),
            )
            if phrase == demande:
                note += 5.0  # la demande elle-même a sa place dans le résumé
            elif any(norme.contient(m.expression) for m in self._demande):
                note += 2.0
            if any(norme.contient(m.expression) for m in self._haute):
                note += 1.5
            if len(phrase) > 400:
                note -= 1.0
            notes.append((note, rang, phrase))
        if not notes:
            return (f"Objet : {lecture.objet}" if lecture.objet else "")[:RESUME_MAX]
        retenues = sorted(sorted(notes, key=lambda n: (-n[0], n[1]))[:3], key=lambda n: n[1])
        resume = ""
        for _, _, phrase in retenues:
            essai = f"{resume} {phrase}".strip()
            if len(essai) > RESUME_MAX:
                break
            resume = essai
        if not resume:  # une seule phrase, trop longue : coupée au dernier mot entier
            resume = retenues[0][2][: RESUME_MAX - 1].rsplit(" ", 1)[0] + "…"
        return resume

    def _expediteur(self, courrier: CourrierALire, lecture: _Lecture) -> Expediteur:
        nom, adresse = parseaddr(courrier.expediteur)
        adresse = (courrier.expediteur_adresse or adresse).strip().lower()
        if not nom and not adresse:
            return expediteur_du_papier(lecture.texte)
        if not nom and lecture.regle_expediteur is not None:
            nom = lecture.regle_expediteur.nom
        return Expediteur(
            nom=nom.strip()[:200],
            email=adresse[:320],
            adresse=adresse_de_signature(lecture.texte),
        )

    # ----------------------------------------------------------------------------------------
    # Décisions forcées
    # ----------------------------------------------------------------------------------------

    def _decision(self, lecture: _Lecture) -> DecisionForcee | None:
        for d in self._decisions:
            regle = d.regle
            if regle.expediteur and not adresse_correspond(lecture.adresse, regle.expediteur):
                continue
            if d.objet is not None and not lecture.objet_n.contient(d.objet):
                continue
            if d.texte is not None and not lecture.texte_n.contient(d.texte):
                continue
            return regle
        return None

    def _appliquer_decisions(self, analyse: Analyse, lecture: _Lecture) -> Analyse:
        decision = self._decision(lecture)
        if decision is None:
            return analyse.model_copy(
                update={"service": self.regles.service(analyse.categorie)}
                if analyse.categorie in self.regles.categories
                else {}
            )
        categorie = decision.categorie or analyse.categorie
        return analyse.model_copy(
            update={
                "categorie": categorie,
                "service": decision.service or self.regles.service(categorie),
                "urgence": decision.urgence or analyse.urgence,
                "alertes": _sans_doublons([*analyse.alertes, Alerte.DECISION_FORCEE]),
            }
        )
