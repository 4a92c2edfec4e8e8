"""Connexion à la base du registre et mise à niveau de son schéma (Alembic)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
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
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def mettre_a_niveau(engine: Engine) -> None:
    """Applique les migrations manquantes ; une base injoignable devient une phrase claire."""
    try:
        with engine.begin() as connexion:
            if connexion.dialect.name == "postgresql":
                # Plusieurs workers qui démarrent ensemble ne migrent pas en même temps.
                connexion.exec_driver_sql("SELECT pg_advisory_xact_lock(7412060)")
            config = config_alembic(engine)
            config.attributes["connection"] = connexion
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
