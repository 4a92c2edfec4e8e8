"""Environnement Alembic : la connexion est fournie par registre.base.mettre_a_niveau."""

from alembic import context
from sqlalchemy import create_engine

from registre.plein_texte import hors_tables
from registre.tables import Base

config = context.config
cible = Base.metadata

connexion = config.attributes.get("connection")
if connexion is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connexion:
        context.configure(
            connection=connexion,
            target_metadata=cible,
            render_as_batch=True,
            include_name=hors_tables,
        )
        context.run_migrations()
else:
    context.configure(
        connection=connexion,
        target_metadata=cible,
        render_as_batch=True,
        include_name=hors_tables,
        version_table_schema=config.attributes.get("schema"),
    )
    context.run_migrations()
