"""Podium's database schema, changed only through these migrations (Alembic).

`upgrade(engine)` brings any database to this release's schema: a new one is made by running every
revision, one made by a release before migrations existed (by `create_all`, so without an
`alembic_version` table) is recognised as the baseline and upgraded from there, and one already under
migrations runs only the revisions it lacks. `podium serve` does this on start (`Database`), and
`podium db upgrade` does it on demand. A schema change is a new file in `versions/`; the models in
`podium.db` must agree with the result (tests/platform/test_migrations.py checks it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

if TYPE_CHECKING:
    from podium.secret_box import SecretBox

log = logging.getLogger("podium.migrations")
BASELINE = "0001_baseline"
# Tables every database made by the release before migrations has (the baseline's own tables).
_BASELINE_TABLES = {"spaces", "tokens", "variables", "secrets", "builds", "runs"}


def _config(engine: Engine, logs_dir: Path | None = None, secret_box: SecretBox | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["engine"] = engine
    # Where spaces' side files are, for revisions that move them into the database (0003).
    config.attributes["logs_dir"] = logs_dir
    # The key that encrypts secrets stored in plain text before (0004).
    config.attributes["secret_box"] = secret_box
    return config


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic says which database backend it found each time it looks; Podium says what changed instead."""
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_log.setLevel(level)


def current_revision(engine: Engine) -> str | None:
    with _quiet_alembic(), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(str(Path(__file__).parent)).get_current_head()


def upgrade(
    engine: Engine, logs_dir: Path | None = None, secret_box: SecretBox | None = None
) -> tuple[str | None, str]:
    """Bring the database to the newest schema; (revision before, revision after). `logs_dir` is the
    spaces' logs folder (`Settings.logs_dir`), whose side files a revision may move into the database;
    `secret_box` the secrets key, which a revision encrypting stored secrets needs when there are some."""
    before, head = current_revision(engine), head_revision()
    if before == head:
        return before, head
    config = _config(engine, logs_dir, secret_box)
    with _quiet_alembic():
        if before is None and _BASELINE_TABLES <= set(inspect(engine).get_table_names()):
            # Made by `create_all` before migrations existed: it is the baseline, as it stands.
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
    after = current_revision(engine)
    log.info("database schema upgraded from %s to %s", before or "the release before migrations", after)
    return before, after
