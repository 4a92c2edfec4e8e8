"""Décodage des octets en texte (jeux de caractères menteurs) et HTML → texte brut.

Rien ici ne lève d'exception pour une entrée mal formée : on retombe toujours sur un texte.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from html.parser import HTMLParser

# Étiquettes vues dans le courrier réel que Python ne connaît pas, ou dont un sur-ensemble
# décode mieux ce que les logiciels de messagerie produisent réellement.
ALIAS_CHARSETS: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "euc-cn": "gb18030",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-mac-ce": "mac-latin2",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "windows-874": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    # Les clients Windows écrivent du cp1252 en l'étiquetant latin-1 ou ASCII.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}

# Codecs Python qui ne sont pas des jeux de caractères : une étiquette hostile ne doit pas
# déclencher d'interprétation d'échappements.
_CODECS_INTERDITS = ("escape", "idna", "punycode", "undefined", "mbcs", "oem", "palmos")

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_CONTROLES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nom_codec(charset: str | None) -> str | None:
    """Nom de codec Python pour une étiquette MIME, ou None si inconnue ou dangereuse."""
    if not charset:
        return None
    etiquette = charset.strip().strip("\"'").strip().lower()
    if not etiquette or len(etiquette) > 40:
        return None
    etiquette = ALIAS_CHARSETS.get(etiquette, etiquette)
    try:
        info = codecs.lookup(etiquette)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    if any(mot in info.name for mot in _CODECS_INTERDITS):
        return None
    return info.name


def _essayer(octets: bytes, codec: str) -> str | None:
    try:
        return octets.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None


def decoder_octets(octets: bytes, charset: str | None = None) -> str:
    """Décode au mieux : BOM, puis UTF-8 valide, puis le charset annoncé, puis cp1252/latin-1.

    L'UTF-8 valide passe avant l'étiquette : dans le corpus, des corps étiquetés gb2312,
    x-mac-cyrillic ou x-unknown sont en fait en UTF-8, et un texte réellement écrit dans un
    jeu à 8 bits n'est presque jamais de l'UTF-8 valide par hasard.

    Pas de détection statistique (charset-normalizer) : sur une phrase française courte en
    cp1252 sans étiquette, elle devine cp1250 et « à » devient « ŕ ». cp1252 est ce qu'écrit
    presque toujours un client de messagerie français qui n'étiquette pas.
    """
    for codec in _codecs_candidats(octets, nom_codec(charset)):
        texte = _essayer(octets, codec)
        if texte is not None:
            return texte
    return octets.decode("latin-1")


def _codecs_candidats(octets: bytes, codec_annonce: str | None) -> Iterator[str]:
    """Les codecs à essayer, dans l'ordre ; le premier qui décode sans erreur l'emporte."""
    yield from (codec for bom, codec in _BOMS if octets.startswith(bom))
    if codec_annonce and codec_annonce.startswith(("utf-16", "utf-32")):
        yield codec_annonce
    if not octets.isascii():
        yield "utf-8"
    if len(octets) >= 4 and octets.count(0) > len(octets) // 3:
        # De l'UTF-16 sans BOM ni étiquette : un octet sur deux est nul.
        yield "utf-16-le" if octets[1::2].count(0) > octets[0::2].count(0) else "utf-16-be"
    if codec_annonce:
        yield codec_annonce
    yield from ("utf-8", "cp1252")


def nettoyer(texte: str) -> str:
    """Retire les NUL (PostgreSQL les refuse) et normalise les fins de ligne."""
    return texte.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def nettoyer_ligne(texte: str, longueur_max: int | None = None) -> str:
    """Une valeur d'une ligne pour l'affichage : pas de caractère de contrôle ni de saut."""
    texte = texte.replace("\x00", "")
    texte = re.sub(r"[\r\n\t]+", " ", texte)
    texte = _CONTROLES.sub("", texte)
    texte = re.sub(r" {2,}", " ", texte).strip()
    if longueur_max is not None and len(texte) > longueur_max:
        texte = texte[: longueur_max - 1].rstrip() + "…"
    return texte


_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)


def charset_html(octets: bytes) -> str | None:
    """Le charset d'une balise <meta> en tête de document, quand l'en-tête MIME n'en donne pas."""
    trouve = _META_CHARSET.search(octets[:4096])
    return trouve.group(1).decode("ascii") if trouve else None


# --- HTML → texte -------------------------------------------------------------------------

_IGNORES = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math"})
_BLOCS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "body", "html",
        "caption", "option", "select", "textarea",
    }
)  # fmt: skip
_CELLULES = frozenset({"td", "th"})
_VIDES = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr"})


class _ExtracteurHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.morceaux: list[str] = []
        self.ignore: list[str] = []  # pile des éléments dont on jette le contenu
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.ignore and self.ignore[-1] == "head" and tag in ("body", *_BLOCS - {"html"}):
            # <head> jamais fermé : le corps commence quand même.
            self.ignore.pop()
        if tag in _IGNORES and tag not in _VIDES:
            self.ignore.append(tag)
            return
        if self.ignore:
            return
        if tag == "br":
            self.morceaux.append("\n")
        elif tag in _BLOCS:
            self.morceaux.append("\n")
            if tag == "li":
                self.morceaux.append("- ")
            if tag == "pre":
                self.pre += 1
        elif tag in _CELLULES:
            self.morceaux.append("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _IGNORES:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.ignore:
            if tag in self.ignore:
                while self.ignore and self.ignore.pop() != tag:
                    pass
            return
        if tag in _BLOCS:
            self.morceaux.append("\n")
            if tag == "pre" and self.pre:
                self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.ignore:
            return
        if self.pre:
            self.morceaux.append(data)
        else:
            self.morceaux.append(re.sub(r"\s+", " ", data))


def html_en_texte(html: str) -> str:
    """Le texte lisible d'un HTML : jamais rendu, scripts et styles jetés, entités décodées."""
    extracteur = _ExtracteurHTML()
    try:
        extracteur.feed(html)
        extracteur.close()
        brut = "".join(extracteur.morceaux)
    except Exception:
        # html.parser est tolérant ; par prudence, un HTML qui le ferait tomber est dépouillé
        # de ses balises sans autre finesse.
        brut = re.sub(r"<[^>]*>", " ", html)
    return _mettre_en_forme(brut)


def _mettre_en_forme(brut: str) -> str:
    lignes = []
    for ligne in brut.replace("\xa0", " ").split("\n"):
        ligne = re.sub(r"[ \t]*\t[ \t]*", "\t", ligne)
        ligne = re.sub(r" {2,}", " ", ligne).strip(" \t")
        lignes.append(ligne)
    texte = "\n".join(lignes)
    texte = re.sub(r"\n{3,}", "\n\n", texte)
    return texte.strip()
