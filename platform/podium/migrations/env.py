"""Alembic's entry point: runs the revisions on the engine `podium.migrations` hands over."""

from alembic import context

from podium.db import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a column by copying its table (batch mode); with foreign keys on, dropping the
        # old copy of `spaces` would cascade to every variable, secret, build and run.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
