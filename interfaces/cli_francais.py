"""L'aide et les erreurs de la ligne de commande, en français.

Typer 0.29 embarque sa propre copie de Click, sans gettext : « Usage: », « Error: »,
« Show this message and exit. » y sont écrits en dur, et les valeurs refusées le sont avec les
messages anglais de pydantic. Plutôt que de remplacer ses fonctions internes une à une, on
traduit aux deux endroits par où tout passe : le formateur d'aide (ligne d'utilisation, titres,
mentions entre crochets) et l'affichage d'une erreur d'utilisation, rebâti ici à partir de
l'exception (son type, le paramètre en cause, l'erreur pydantic d'origine).

Toutes les applications de `courrier` sont des `Application` : une commande ajoutée plus tard
en hérite sans rien faire. tests/test_cli_francais.py parcourt chaque aide et chaque genre
d'erreur à la recherche d'un mot anglais.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from typer._click import Context, HelpFormatter
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort

OPTIONS_D_AIDE = ["--aide", "-h", "--help"]
TEXTE_OPTION_AIDE = "Affiche cette aide et s'arrête."

TITRES = {
    "Options": "Options",
    "Arguments": "Arguments",
    "Commands": "Commandes",
}

# Les types tels que Typer les écrit dans l'aide (`<int range>`…), dits en français.
TYPES = {
    "str": "texte",
    "text": "texte",
    "int": "entier",
    "int range": "entier",
    "float": "nombre",
    "float range": "nombre",
    "path": "chemin",
    "file": "fichier",
    "bool": "oui/non",
    "boolean": "oui/non",
    "date": "date",
    "datetime": "date et heure",
    "uuid": "identifiant",
}

_TYPE = re.compile(r"<([a-z ]+)>")
_ACCOLADES = re.compile(r"\{([a-z_]+)\}")
_MENTIONS = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
_BORNES = re.compile(r"^(-?[\d.]+)?(<=|<)?x(<=|<)?(-?[\d.]+)?$")


def _type_francais(m: re.Match[str]) -> str:
    return f"<{TYPES.get(m.group(1), m.group(1))}>"


def _bornes(texte: str) -> str:
    """`1<=x<=65535` → `de 1 à 65535` ; `x>=0` → `0 au moins`."""
    texte = texte.replace(" ", "")
    if m := re.fullmatch(r"(-?[\d.]+)<=x<=(-?[\d.]+)", texte):
        return f"de {m.group(1)} à {m.group(2)}"
    if m := re.fullmatch(r"x>=(-?[\d.]+)", texte):
        return f"{m.group(1)} au moins"
    if m := re.fullmatch(r"x<=(-?[\d.]+)", texte):
        return f"{m.group(1)} au plus"
    return texte


def _mention(morceau: str) -> str:
    morceau = morceau.strip()
    if morceau == "required":
        return "obligatoire"
    if morceau.startswith("default: "):
        return "par défaut : " + morceau.removeprefix("default: ")
    if morceau.startswith("env var: "):
        return "variable : " + morceau.removeprefix("env var: ")
    if morceau == "(dynamic)":
        return "(calculé)"
    if _BORNES.match(morceau.replace(" ", "")):
        return _bornes(morceau)
    return morceau


def traduire_aide(texte: str) -> str:
    """Les mentions que Typer ajoute en fin d'aide d'une option : `[default: 8000; 1<=x<=9]`."""
    m = _MENTIONS.search(texte)
    if not m:
        return texte
    mentions = " ; ".join(_mention(p) for p in m.group(1).split(";"))
    return f"{texte[: m.start()]}  [{mentions}]"


class FormateurAide(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = _ACCOLADES.sub(lambda m: m.group(1).upper(), args)
        args = args.replace("COMMAND [ARGS]...", "COMMANDE [ARGUMENTS]...")
        super().write_usage(prog, args, prefix="Utilisation : " if prefix is None else prefix)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(TITRES.get(name, name)):
            yield

    def write_dl(self, rows: Sequence[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        traduites = [(_TYPE.sub(_type_francais, t), traduire_aide(aide)) for t, aide in rows]
        super().write_dl(traduites, *args, **kwargs)


class ContexteFrancais(Context):
    formatter_class = FormateurAide


# --- Les erreurs d'utilisation ---------------------------------------------------------------


def _valeur(entree: Any) -> str:
    return f"« {entree} »"


def _erreur_pydantic(cause: BaseException | None) -> str | None:
    """La première erreur de validation pydantic, dite en français ; None si ce n'en est pas."""
    erreurs = getattr(cause, "errors", None)
    if not callable(erreurs):
        return None
    try:
        liste = erreurs()
    except Exception:
        return None
    if not liste:
        return None
    return _phrase_pydantic(liste[0])


def _phrase_pydantic(e: Any) -> str:
    """Une erreur de validation pydantic (un élément de `errors()`) en une phrase."""
    genre, entree, ctx = e.get("type", ""), e.get("input"), e.get("ctx") or {}
    borne = {
        "greater_than_equal": ("supérieur ou égal à", "ge"),
        "greater_than": ("supérieur à", "gt"),
        "less_than_equal": ("inférieur ou égal à", "le"),
        "less_than": ("inférieur à", "lt"),
    }.get(genre)
    if borne:
        return f"{_valeur(entree)} doit être {borne[0]} {ctx.get(borne[1])}."
    if genre in ("int_parsing", "int_from_float", "int_type"):
        return f"{_valeur(entree)} n'est pas un nombre entier."
    if genre in ("float_parsing", "float_type", "decimal_parsing"):
        return f"{_valeur(entree)} n'est pas un nombre."
    if genre in ("bool_parsing", "bool_type"):
        return f"{_valeur(entree)} n'est ni oui ni non (true/false)."
    if genre.startswith(("date", "datetime")):
        return f"{_valeur(entree)} n'est pas une date au format AAAA-MM-JJ."
    if genre == "enum":
        return f"{_valeur(entree)} n'est pas permis ; valeurs possibles : {ctx.get('expected')}."
    if genre == "value_error":
        message = str(ctx.get("error", ""))
        if m := re.fullmatch(r"'?(.*?)'? is not one of (.*)\.", message):
            possibles = ", ".join(v.strip(" '") for v in m.group(2).split(","))
            return f"{_valeur(m.group(1))} n'est pas permis ; valeurs possibles : {possibles}."
        return f"{_valeur(entree)} est refusé."
    if genre in ("missing", "string_type"):
        return f"{_valeur(entree)} est refusé."
    return f"{_valeur(entree)} est refusé ({genre})."


def _nom_du_parametre(e: BadParameter | MissingParameter) -> str:
    param = e.param
    if e.param_hint is not None:
        indice = e.param_hint
        return " / ".join(indice) if isinstance(indice, (list, tuple)) else str(indice)
    if param is None:
        return "?"
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.name or "?").upper()
    return " / ".join(param.opts)


def message_francais(e: ClickException) -> str:
    """Une erreur de la ligne de commande, en une phrase française."""
    message = e.format_message() if not isinstance(e, UsageError) else e.message
    if isinstance(e, MissingParameter):
        argument = getattr(e.param, "param_type_name", "") == "argument"
        genre = "l'argument" if argument else "l'option"
        return f"Il manque {genre} « {_nom_du_parametre(e)} »."
    if isinstance(e, NoSuchOption):
        texte = f"Option inconnue : {e.option_name}."
        if e.possibilities:
            texte += f" Options possibles : {', '.join(sorted(e.possibilities))}."
        return texte
    if isinstance(e, BadParameter):
        raison = _erreur_pydantic(e.__cause__)
        if raison is None:
            raison = _raison_connue(message) or message
        return f"Valeur refusée pour « {_nom_du_parametre(e)} » : {raison}"
    if isinstance(e, BadOptionUsage):
        if "requires an argument" in message:
            return f"L'option {e.option_name} attend une valeur."
        if "does not take a value" in message:
            return f"L'option {e.option_name} ne prend pas de valeur."
        return f"L'option {e.option_name} est mal employée."
    return _raison_connue(message) or message


def _raison_connue(message: str) -> str | None:
    if m := re.fullmatch(r"No such command '(.*)'\.", message):
        return f"Commande inconnue : « {m.group(1)} »."
    if m := re.fullmatch(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message):
        return f"Argument en trop : {m.group(1)}."
    if message == "Missing command.":
        return "Il manque la commande."
    if m := re.fullmatch(r"(?:File|Path|Directory) '(.*)' does not exist\.", message):
        return f"« {m.group(1)} » n'existe pas."
    if m := re.fullmatch(r"(?:File|Path|Directory) '(.*)' is a directory\.", message):
        return f"« {m.group(1)} » est un dossier."
    return None


def afficher_erreur(e: ClickException) -> None:
    if isinstance(e, NoArgsIsHelpError):
        # Un groupe appelé sans commande : son aide, déjà en français.
        print(e.format_message(), file=sys.stderr)
        return
    lignes: list[str] = []
    ctx = getattr(e, "ctx", None)
    if isinstance(e, UsageError) and ctx is not None:
        lignes.append(ctx.get_usage())
        lignes.append(f"Aide : {ctx.command_path} --aide")
        lignes.append("")
    try:
        message = message_francais(e)
    except Exception:
        # Une version de Typer qui change ses exceptions ne doit pas faire tomber l'affichage.
        message = e.format_message()
    lignes.append(f"Erreur : {message}")
    print("\n".join(lignes), file=sys.stderr)


# --- Les commandes et groupes -----------------------------------------------------------------


class _EnFrancais:
    context_class = ContexteFrancais

    def get_help_option_names(self, ctx: Context) -> list[str]:
        # Click les rend dans l'ordre d'un ensemble, qui change d'un lancement à l'autre.
        noms = super().get_help_option_names(ctx)  # type: ignore[misc]
        return sorted(noms, key=lambda n: OPTIONS_D_AIDE.index(n) if n in OPTIONS_D_AIDE else 99)

    def get_help_option(self, ctx: Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = TEXTE_OPTION_AIDE
        return option

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        principal = super().main  # type: ignore[misc]
        if not standalone_mode:
            return principal(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = principal(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as e:
            afficher_erreur(e)
            sys.exit(e.exit_code)
        except Abort:
            print("Interrompu.", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


# mypy compare les signatures du mélange à celles de Click, plus larges (*args) : elles sont
# compatibles à l'appel, seule la déclaration diffère.
class CommandeFrancaise(_EnFrancais, TyperCommand):  # type: ignore[misc]
    pass


class GroupeFrancais(_EnFrancais, TyperGroup):  # type: ignore[misc]
    pass


class Application(typer.Typer):
    """Un `typer.Typer` dont chaque commande et sous-groupe parle français."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", GroupeFrancais)
        reglages_contexte = dict(kwargs.pop("context_settings", None) or {})
        reglages_contexte.setdefault("help_option_names", OPTIONS_D_AIDE)
        super().__init__(context_settings=reglages_contexte, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", CommandeFrancaise)
        reglages_contexte = dict(kwargs.pop("context_settings", None) or {})
        reglages_contexte.setdefault("help_option_names", OPTIONS_D_AIDE)
        return super().command(*args, context_settings=reglages_contexte, **kwargs)
