"""Connexion à la base du registre et mise à niveau de son schéma (Alembic)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from noyau.erreurs import RegistreErreur

MIGRATIONS = Path(__file__).with_name("migrations")


def creer_engine(url: str) -> Engine:
    """Un engine SQLAlchemy prêt pour des écritures concurrentes, quelle que soit la base.

    SQLite n'a pas de verrou de ligne : chaque transaction y commence par BEGIN IMMEDIATE,
    ce qui sérialise les écrivains comme le ferait SELECT … FOR UPDATE sur PostgreSQL.
    """
    if url.startswith("sqlite"):
        chemin = url.split("///", 1)[-1]
        if chemin and chemin != ":memory:":
            Path(chemin).parent.mkdir(parents=True, exist_ok=True)
        delai = delai_verrou_s()
        engine = create_engine(url, connect_args={"timeout": delai, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(connexion: Any, _record: Any) -> None:
            curseur = connexion.cursor()
            curseur.execute("PRAGMA journal_mode=WAL")
            curseur.execute("PRAGMA synchronous=FULL")
            curseur.execute("PRAGMA foreign_keys=ON")
            curseur.execute(f"PRAGMA busy_timeout={int(delai * 1000)}")
            curseur.close()
            # lower() de SQLite ne connaît que l'ASCII : « Élections » ne trouverait pas
            # « élections » dans la recherche du registre. Celui de Python connaît les accents.
            connexion.create_function("lower", 1, _minuscules, deterministic=True)

        @event.listens_for(engine, "begin")
        def _begin(connexion: Any) -> None:
            connexion.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if schema_de(make_url(url)) is not None:
        # Le registre d'une commune, parmi des dizaines dans la même base : une connexion gardée
        # au repos par commune (les autres se ferment après usage), sans quoi la page web, qui
        # garde le registre de chaque commune ouverte, épuiserait max_connections.
        return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=8)
    return create_engine(url, pool_pre_ping=True)


def _minuscules(texte: object) -> object:
    return texte.lower() if isinstance(texte, str) else texte


def delai_verrou_s() -> float:
    """Combien de temps une écriture SQLite attend qu'un autre programme lâche la base : 60 s.

    `COURRIER_PANNE_DELAI_VERROU_S` le raccourcit pour les preuves de pannes (une base
    verrouillée plus longtemps que ce délai arrête la relève) ; ce n'est pas un réglage.
    """
    try:
        return max(0.1, float(os.environ.get("COURRIER_PANNE_DELAI_VERROU_S") or 60))
    except ValueError:
        return 60.0


def config_alembic(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser lit « % » comme une interpolation (options=-csearch_path%3D… d'une commune).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


_SCHEMA = re.compile(r"search_path=([a-z][a-z0-9_]{0,62})(?:,|$)")


def schema_de(url: URL) -> str | None:
    """Le schéma PostgreSQL propre à une commune, lu dans l'option `search_path` de l'URL
    (courrier/communes.py l'y met) ; None : le schéma par défaut (`public`)."""
    options = url.query.get("options")
    texte = options if isinstance(options, str) else " ".join(options or ())
    trouve = _SCHEMA.search(texte.replace("%3D", "=").replace("%2C", ","))
    return trouve.group(1) if trouve else None


def mettre_a_niveau(engine: Engine) -> None:
    """Applique les migrations manquantes ; une base injoignable devient une phrase claire."""
    try:
        with engine.begin() as connexion:
            if connexion.dialect.name == "postgresql":
                # Plusieurs workers qui démarrent ensemble ne migrent pas en même temps.
                connexion.exec_driver_sql("SELECT pg_advisory_xact_lock(7412060)")
                schema = schema_de(engine.url)
                if schema is not None:
                    # Le schéma d'une commune : ses tables y naissent (premier du search_path).
                    # unaccent (recherche plein texte) reste dans `public`, commun à tous.
                    connexion.exec_driver_sql(
                        "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"
                    )
                    connexion.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            config = config_alembic(engine)
            config.attributes["connection"] = connexion
            # La table de version dans le schéma de la commune, pas celle de `public` que le
            # search_path laisserait voir.
            config.attributes["schema"] = schema_de(engine.url)
            command.upgrade(config, "head")
    except OperationalError as e:
        raise RegistreErreur(
            "La base du registre est injoignable ou verrouillée "
            f"({engine.url.get_backend_name()}) : {_premiere_ligne(e)}"
        ) from e
    except SQLAlchemyError as e:
        raise RegistreErreur(
            f"La mise à niveau de la base du registre a échoué : {_premiere_ligne(e)}"
        ) from e


def tables(engine: Engine) -> list[str]:
    return inspect(engine).get_table_names()


def _premiere_ligne(e: BaseException) -> str:
    texte = str(getattr(e, "orig", None) or e)
    return texte.strip().splitlines()[0] if texte.strip() else type(e).__name__
