"""Pseudonymisation : les données personnelles d'un courrier remplacées avant un LLM extérieur.

Noms, adresses électroniques, téléphones, adresses postales, NIR et IBAN deviennent des
marques stables (`[PERSONNE_1]`, `[EMAIL_1]`…) : la même valeur garde la même marque pour tout
le courrier, si bien que la réponse du LLM peut être restaurée mot pour mot. Pur : aucune I/O.

Choix documentés (voir aussi tests/test_pseudonymisation.py) :
- un code postal seul (« 76000 ») n'est pas masqué ; une ligne « 76000 Rouen » l'est, avec la
  ville, parce qu'elle complète une adresse ;
- les dates, montants (« 2 566,80 € »), numéros de dossier courts restent lisibles : le LLM
  en a besoin pour l'échéance et le résumé ;
- un nom n'est reconnu que s'il est connu de l'appelant (nom affiché de l'expéditeur,
  signature), s'il suit une civilité (« Mme Durand ») ou « soussigné(e) », ou s'il signe le
  courrier sous une formule de politesse ; un nom cité nu au milieu d'une phrase passe.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from annotated_types import MaxLen
from pydantic import BaseModel

# Les genres de marques, dans l'ordre où on les cherche : un IBAN contient des suites de
# chiffres qu'on prendrait sinon pour un téléphone, une adresse électronique contient un nom.
PERSONNE = "PERSONNE"
EMAIL = "EMAIL"
TEL = "TEL"
ADRESSE = "ADRESSE"
NIR = "NIR"
IBAN = "IBAN"
GENRES = (PERSONNE, EMAIL, TEL, ADRESSE, NIR, IBAN)

# Le LLM recopie parfois une marque sans ses crochets : on restaure aussi « PERSONNE_1 ».
_MARQUE = re.compile(r"\[?\b(" + "|".join(GENRES) + r")_(\d+)\b\]?")

_ESPACES = re.compile("[\u00a0\u2007\u202f]")
_MAJ = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_MIN = "a-zàâäçéèêëîïôöùûüÿæœß"
_LETTRE = _MAJ + _MIN

_RE_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# 06 12 34 56 78, 06.12.34.56.78, 06-12-34-56-78, 0612345678, +33 6 12 34 56 78,
# +33 (0)6 12 34 56 78, 0033 6 12 34 56 78.
_RE_TEL = re.compile(
    r"(?<![\w+])(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?|0)[1-9](?:[ .-]?\d{2}){4}(?![\d])"
)

# Sexe (1, 2 ; 7, 8 pour les numéros provisoires), année, mois (01-12, ou 20-99 quand le mois
# est inconnu), département (dont 2A/2B), commune, rang, clé facultative.
_RE_NIR = re.compile(
    r"(?<![\w])[1278][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])"
    r"[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?(?![\w])"
)

# Le début d'un IBAN ; la fin se trouve en vérifiant la clé (mod 97), voir _trouver_iban.
_RE_DEBUT_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])")

_TYPES_VOIE = (
    r"rue|ruelle|avenue|av\.|boulevard|bd|bld|chemin|impasse|all[ée]e|place|route|quai|cours"
    r"|square|sentier|passage|hameau|clos|voie|mont[ée]e|domaine|cit[ée]|faubourg|fg"
    r"|promenade|esplanade|rond-point|traverse|venelle|lotissement|r[ée]sidence|parvis"
    r"|chauss[ée]e|carrefour|r[ée]sidence|zone|za|zi|zac"
)
_PARTICULE = r"(?:de|du|des|la|le|les|au|aux|à|en|sur|sous|et|saint|sainte)"
_MOT_MAJ = rf"[{_MAJ}0-9][{_LETTRE}0-9'’-]*"
# Le nom d'une voie : des particules puis des mots en majuscule (« de l'Église »,
# « du Moulin Neuf », « Victor Hugo ») ; un mot en minuscule l'arrête (« rue des Lilas depuis »).
_NOM_VOIE = rf"(?:[ \t]+(?:(?i:{_PARTICULE})[ \t]+)*(?:(?i:[dl])['’])?{_MOT_MAJ})+"
_RE_VOIE = re.compile(
    rf"(?<![\w])\d{{1,4}}(?:[ \t]?(?i:bis|ter|quater|[a-d]))?,?[ \t]+(?i:{_TYPES_VOIE})(?![\w])"
    rf"{_NOM_VOIE}"
)
_RE_LIEU_DIT = re.compile(rf"(?<![\w])(?i:lieu[- ]?dit|hameau)(?![\w]){_NOM_VOIE}")
_RE_BOITE_POSTALE = re.compile(r"(?<![\w])(?:BP|B\.P\.|CS)[ \t]?\d{1,6}(?![\w])")
# « 76000 Rouen », « 76230 Bois-Guillaume », « 14000 CAEN CEDEX 9 ».
_MOT_VILLE = rf"(?!CEDEX\b)[{_MAJ}][{_LETTRE}'’-]*"
_LIAISON_VILLE = rf"(?:sur|sous|en|lès|lez|le|la|les|de|du|d'|l')(?=[ \t-]+[{_MAJ}])"
_RE_CODE_POSTAL_VILLE = re.compile(
    rf"(?<![\w.,])\d{{5}}[ \t]+{_MOT_VILLE}(?:[ \t-]+(?:{_MOT_VILLE}|{_LIAISON_VILLE}))*"
    r"(?:[ \t]+CEDEX(?:[ \t]+\d{1,2})?)?"
)
# Ce qui suit un nombre de cinq chiffres sans être une ville.
_PAS_UNE_VILLE = {"euros", "euro", "eur", "habitants", "personnes", "km", "kilomètres"}

_CIVILITE = (
    r"M\.|MM\.|Mr\.?|Mme\.?|Mmes\.?|Mlle\.?|Mlles\.?|Madame|Monsieur|Mademoiselle|Messieurs"
    r"|Mesdames|Dr\.?|Docteur|Me|Maître|Pr\.?|Professeur"
)
_MOT_NOM = rf"[{_MAJ}][{_LETTRE}'’-]*"
_PARTICULE_NOM = r"(?:de|du|des|d['’]|le|la|van|von|ben|el)"
# Un à quatre mots de nom, séparés par des espaces (jamais un saut de ligne : la ligne suivante
# commence souvent par une majuscule sans être un nom).
_NOM = (
    rf"(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}(?:[ \t]+(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}){{0,3}}"
)
_RE_CIVILITE_NOM = re.compile(
    rf"(?<![\w])(?:{_CIVILITE})[ \t]+(?:et[ \t]+(?:{_CIVILITE})[ \t]+)?(?P<nom>{_NOM})"
)
_RE_SOUSSIGNE = re.compile(
    rf"(?<![\w])(?:(?i:soussign[ée]e?s?)[ \t]*,?|née|épouse|veuve)[ \t]+(?P<nom>{_NOM})"
)
# Les formulaires d'état civil : « Nom : LEFÈVRE », « Prénoms : Camille Hélène », « Père : … ».
_RE_ETIQUETTE = re.compile(
    r"(?m)^[ \t\-*•]*(?i:nom(?: de naissance| d'usage| de jeune fille| marital)?|pr[ée]noms?"
    r"|p[èe]re|m[èe]re|conjoint|[ée]poux|[ée]pouse|enfants?|demandeur|demandeuse|titulaire)"
    rf"[ \t]*:[ \t]*(?P<nom>{_NOM}(?:[ \t]*,[ \t]*{_NOM})*)"
)
# Une signature : la première ligne non vide après une formule de politesse, si elle n'a
# que deux à quatre mots en majuscule (« Jean DUPONT », « Marie-Claire de la Tour »).
_RE_FORMULE = re.compile(
    r"(?m)^.*(?i:cordialement|salutations|bien à vous|respectueusement|sentiments"
    r"|bonne journée|bonne soirée|merci|remerciements|amicalement|à bientôt)[^\n]*\n"
    r"(?:[ \t]*\n)*"
    rf"[ \t]*(?P<nom>{_MOT_NOM}(?:[ \t]+(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}){{1,3}})[ \t]*$"
)

# Mots qui suivent une civilité sans être un nom (« Monsieur le Maire », « Madame la
# Préfète », « Madame, Monsieur »), comparés en minuscules.
_PAS_UN_NOM = {
    "le",
    "la",
    "les",
    "l",
    "maire",
    "adjoint",
    "adjointe",
    "président",
    "présidente",
    "préfet",
    "préfète",
    "sous-préfet",
    "sous-préfète",
    "directeur",
    "directrice",
    "conseiller",
    "conseillère",
    "secrétaire",
    "député",
    "députée",
    "sénateur",
    "sénatrice",
    "commissaire",
    "inspecteur",
    "inspectrice",
    "principal",
    "proviseur",
    "responsable",
    "chef",
    "cheffe",
    "curé",
    "notaire",
    "trésorier",
    "trésorière",
    "comptable",
    "gérant",
    "gérante",
    "garde",
    "agent",
    "madame",
    "monsieur",
    "mademoiselle",
    "messieurs",
    "mesdames",
    "et",
    # Une signature d'organisme n'est pas un nom de personne.
    "service",
    "services",
    "mairie",
    "commune",
    "association",
    "comité",
    "club",
    "société",
    "entreprise",
    "cabinet",
    "école",
    "collège",
    "lycée",
    "syndicat",
    "communauté",
    "équipe",
    "direction",
}


# Des mots qui, dans un nom d'expéditeur, désignent un organisme et pas une personne.
_ORGANISMES = {
    "préfecture",
    "sous-préfecture",
    "département",
    "région",
    "conseil",
    "bureau",
    "sas",
    "sarl",
    "sa",
    "eurl",
    "sci",
    "gaec",
    "newsletter",
    "info",
    "infos",
    "contact",
    "noreply",
    "no-reply",
    "ne-pas-repondre",
    "support",
    "caf",
    "cpam",
    "urssaf",
    "dgfip",
    "enedis",
    "sdis",
    "gendarmerie",
    "ministère",
    "académie",
    "agence",
    "office",
    "groupe",
    "fédération",
    "union",
    "amicale",
    "trésor",
    "collectivités",
}


class Pseudonymiseur:
    """Masque les données personnelles d'un courrier et les restaure dans les réponses.

    Un pseudonymiseur par courrier : les marques ne valent que pour lui. `noms_connus` : les
    noms que l'appelant sait personnels (nom affiché de l'expéditeur, signature) ; `exclus` :
    des mots à ne jamais masquer comme noms (le nom de la commune, celui du maire).
    """

    def __init__(self, noms_connus: Iterable[str] = (), exclus: Iterable[str] = ()) -> None:
        self._marques: dict[str, str] = {}  # valeur -> marque
        self._valeurs: dict[str, str] = {}  # marque -> valeur
        self._compteurs = dict.fromkeys(GENRES, 0)
        self._exclus = {e.strip().casefold() for e in exclus if e.strip()}
        self._noms_connus = _noms_a_chercher(noms_connus, self._exclus)

    @property
    def correspondances(self) -> dict[str, str]:
        """Marque -> valeur d'origine (pour les tests et le débogage, jamais pour un journal)."""
        return dict(self._valeurs)

    def masquer(self, texte: str) -> str:
        """Le texte, données personnelles remplacées par leurs marques.

        Les fins de ligne CRLF et les espaces insécables (typographie française, HTML)
        deviennent des sauts de ligne et des espaces simples : le LLM n'y perd rien et les
        motifs n'ont pas à les prévoir tous.
        """
        texte = _ESPACES.sub(" ", texte.replace("\r\n", "\n").replace("\r", "\n"))
        texte = self._remplacer_spans(texte, IBAN, _trouver_iban(texte))
        texte = self._remplacer(texte, NIR, _RE_NIR)
        texte = self._remplacer(texte, EMAIL, _RE_EMAIL)
        texte = self._remplacer(texte, TEL, _RE_TEL)
        texte = self._remplacer(texte, ADRESSE, _RE_VOIE)
        texte = self._remplacer(texte, ADRESSE, _RE_LIEU_DIT)
        texte = self._remplacer(texte, ADRESSE, _RE_BOITE_POSTALE)
        texte = self._remplacer_spans(texte, ADRESSE, _trouver_villes(texte))
        texte = self._masquer_noms(texte)
        return texte

    def restaurer(self, texte: str) -> str:
        def remplacer(m: re.Match[str]) -> str:
            return self._valeurs.get(f"[{m.group(1)}_{m.group(2)}]", m.group(0))

        return _MARQUE.sub(remplacer, texte)

    def restaurer_modele(self, modele: M) -> M:
        """Restaure chaque chaîne d'un modèle pydantic (une `Analyse`), récursivement.

        Une valeur restaurée peut être plus longue que sa marque : elle est coupée à la
        longueur maximale du champ plutôt que de rendre le modèle invalide.
        """
        return _transformer_modele(modele, self.restaurer)

    # -- interne -----------------------------------------------------------------------------

    def _marque(self, genre: str, valeur: str) -> str:
        marque = self._marques.get(valeur)
        if marque is None:
            self._compteurs[genre] += 1
            marque = f"[{genre}_{self._compteurs[genre]}]"
            self._marques[valeur] = marque
            self._valeurs[marque] = valeur
        return marque

    def _remplacer(self, texte: str, genre: str, motif: re.Pattern[str]) -> str:
        return self._remplacer_spans(texte, genre, [m.span() for m in motif.finditer(texte)])

    def _remplacer_spans(self, texte: str, genre: str, spans: Iterable[tuple[int, int]]) -> str:
        morceaux: list[str] = []
        fin_precedente = 0
        for debut, fin in sorted(spans):
            if debut < fin_precedente:
                continue
            valeur = texte[debut:fin].rstrip(" \t.,")
            fin = debut + len(valeur)
            if not valeur or _MARQUE.fullmatch(valeur):
                continue
            morceaux.append(texte[fin_precedente:debut])
            morceaux.append(self._marque(genre, valeur))
            fin_precedente = fin
        morceaux.append(texte[fin_precedente:])
        return "".join(morceaux)

    def _masquer_noms(self, texte: str) -> str:
        spans: list[tuple[int, int]] = []
        for motif in (_RE_CIVILITE_NOM, _RE_SOUSSIGNE, _RE_ETIQUETTE, _RE_FORMULE):
            for m in motif.finditer(texte):
                debut, fin = self._span_nom(m.group("nom"), m.start("nom"))
                if debut < fin:
                    spans.append((debut, fin))
        # Un nom trouvé après une civilité est cherché aussi seul ailleurs (« Mme Durand …
        # Durand »), dans ce texte comme dans les suivants du même courrier.
        nouveaux = [texte[d:f] for d, f in spans]
        texte = self._remplacer_spans(texte, PERSONNE, _sans_chevauchement(spans))
        if nouveaux:
            self._noms_connus = _noms_a_chercher([*self._noms_connus, *nouveaux], self._exclus)
        # Les noms connus en dernier : « Jean Dupont » entier d'abord, puis « Dupont » seul.
        for nom in self._noms_connus:
            # « _ » sépare aussi : un nom de fichier « CNI_Dupont.pdf » ne doit rien laisser voir.
            motif = re.compile(rf"(?<![^\W_]|[\[-]){re.escape(nom)}(?![^\W_]|[\]-])", re.IGNORECASE)
            spans = [m.span() for m in motif.finditer(texte) if m.group(0)[0].isupper()]
            texte = self._remplacer_spans(texte, PERSONNE, spans)
        return texte

    def _span_nom(self, nom: str, debut: int) -> tuple[int, int]:
        """Le nom sans ce qui n'en est pas (« Le Maire ») ni les mots exclus (la commune).

        « M. Le Gall » est un nom, « Monsieur Le Maire » n'en est pas un : on juge sur le
        premier mot qui n'est pas une particule.
        """
        mots = list(re.finditer(r"[^\s'’]+['’]?", nom))
        i = 0
        while i < len(mots) and re.fullmatch(_PARTICULE_NOM, mots[i].group(0), re.IGNORECASE):
            i += 1
        if i == len(mots) or mots[i].group(0).casefold() in _PAS_UN_NOM:
            return (debut, debut)
        fin = 0
        for mot in mots:
            texte_mot = mot.group(0).casefold()
            if texte_mot in self._exclus or (
                mot.start() > mots[i].start() and texte_mot in _PAS_UN_NOM - {"le", "la", "et"}
            ):
                break
            fin = mot.end()
        if fin == 0 or nom[:fin].casefold() in self._exclus:
            return (debut, debut)
        return (debut, debut + fin)


M = TypeVar("M", bound=BaseModel)


def pseudonymiser_par_defaut(url: str) -> bool:
    """Vrai sauf quand le point d'accès est sur cette machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        hote = urlsplit(url).hostname
    except ValueError:
        return True
    if not hote:
        return True
    if hote == "localhost" or hote.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(hote).is_loopback
    except ValueError:
        return True


def valider_iban(iban: str) -> bool:
    """La clé d'un IBAN (ISO 13616, mod 97), espaces ignorés."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    retourne = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in retourne)) % 97 == 1


def valider_nir(nir: str) -> bool:
    """La clé d'un NIR de 15 caractères : 97 - (13 premiers chiffres mod 97), Corse comprise."""
    compact = re.sub(r"[ .]", "", nir).upper()
    if not re.fullmatch(r"[1278]\d{4}(?:\d{2}|2A|2B)\d{8}", compact):
        return False
    corps = compact[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(corps) % 97 == int(compact[13:])


# -- fonctions internes ----------------------------------------------------------------------


def _trouver_iban(texte: str) -> list[tuple[int, int]]:
    """Les IBAN dont la clé est juste ; le plus long préfixe valide, groupes de 4 ou non."""
    spans: list[tuple[int, int]] = []
    for m in _RE_DEBUT_IBAN.finditer(texte):
        # Les caractères qui peuvent suivre : alphanumériques et espaces simples.
        positions: list[int] = []  # position de fin après chaque caractère alphanumérique
        i = m.start()
        while i < len(texte) and len(positions) < 34:
            c = texte[i]
            if c.isascii() and (c.isupper() or c.isdigit()):
                positions.append(i + 1)
            elif not (c == " " and i + 1 < len(texte) and texte[i + 1] != " "):
                break
            i += 1
        for n in range(len(positions), 14, -1):
            fin = positions[n - 1]
            if fin < len(texte) and (texte[fin].isalnum()):
                continue
            if valider_iban(texte[m.start() : fin]):
                spans.append((m.start(), fin))
                break
    return spans


def _trouver_villes(texte: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _RE_CODE_POSTAL_VILLE.finditer(texte):
        ville = m.group(0)[5:].strip().split()[0].casefold()
        if ville not in _PAS_UNE_VILLE:
            spans.append(m.span())
    return spans


def _sans_chevauchement(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    gardes: list[tuple[int, int]] = []
    for debut, fin in sorted(spans):
        if gardes and debut < gardes[-1][1]:
            if fin > gardes[-1][1]:
                gardes[-1] = (gardes[-1][0], fin)
            continue
        gardes.append((debut, fin))
    return gardes


def _noms_a_chercher(noms: Iterable[str], exclus: set[str]) -> list[str]:
    """Chaque nom connu entier, puis ses mots assez longs pour ne pas être ambigus.

    « DUPONT Jean » donne « DUPONT Jean », « DUPONT », « Jean » : une signature « J. Dupont »
    ou « Madame Dupont » ne doit pas échapper au masque. Les plus longs d'abord.
    """
    trouves: set[str] = set()
    for nom in noms:
        nom = re.sub(r"\s+", " ", nom.replace('"', "")).strip(" ,<>")
        if not nom or "@" in nom or nom.casefold() in exclus or _est_un_organisme(nom):
            continue
        trouves.add(nom)
        for mot in re.split(r"[ ,]+", nom):
            mot = mot.strip(".")
            if (
                len(mot) >= 3
                and mot.casefold() not in _PAS_UN_NOM
                and mot.casefold() not in exclus
                and not re.fullmatch(_PARTICULE_NOM, mot, re.IGNORECASE)
            ):
                trouves.add(mot)
    return sorted(trouves, key=lambda n: (-len(n), n))


def _est_un_organisme(nom: str) -> bool:
    """« Comité des fêtes de Saint-Aubin », « Préfecture du Loiret » : pas une personne.

    Un nom de personne n'a que des mots en majuscule et des particules (« Jean de la Tour »),
    ou tout en minuscules (« jean dupont », tel que certains l'écrivent).
    """
    mots = re.findall(r"[^\W\d_][\w'’-]*", nom)
    if not mots or mots[0].casefold() in _PAS_UN_NOM or mots[0].casefold() in _ORGANISMES:
        return True
    if any(m.casefold() in _ORGANISMES for m in mots):
        return True
    minuscules = [m for m in mots if m[0].islower() and not re.fullmatch(_PARTICULE_NOM, m)]
    return bool(minuscules) and len(minuscules) < len(mots)


def _longueur_max(info: Any) -> int | None:
    for contrainte in getattr(info, "metadata", ()):
        if isinstance(contrainte, MaxLen):
            return int(contrainte.max_length)
    return None


def _transformer_valeur(valeur: Any, f: Callable[[str], str]) -> Any:
    # `type(...) is str` : une StrEnum (Alerte, Urgence) est une str mais ne se restaure pas.
    if type(valeur) is str:
        return f(valeur)
    if isinstance(valeur, BaseModel):
        return _transformer_modele(valeur, f)
    if isinstance(valeur, list):
        return [_transformer_valeur(v, f) for v in valeur]
    if isinstance(valeur, tuple):
        return tuple(_transformer_valeur(v, f) for v in valeur)
    if isinstance(valeur, dict):
        return {k: _transformer_valeur(v, f) for k, v in valeur.items()}
    return valeur


def _transformer_modele(modele: M, f: Callable[[str], str]) -> M:
    changements: dict[str, Any] = {}
    for nom, info in type(modele).model_fields.items():
        valeur = getattr(modele, nom)
        nouvelle = _transformer_valeur(valeur, f)
        if type(nouvelle) is str and (maxi := _longueur_max(info)) is not None:
            nouvelle = nouvelle[:maxi]
        if nouvelle is not valeur and nouvelle != valeur:
            changements[nom] = nouvelle
    return modele.model_copy(update=changements) if changements else modele
