"""A space asleep behind its latest revision's failure keeps that failure's stage and message in the
database (they were a side file, asleep-behind.json, beside the space's logs). Records of spaces asleep
when Podium is upgraded move from their files into the new columns, read from the logs folder that
`podium.migrations.upgrade` is given; without one (a bare engine) they stay, and such a space wakes
showing its latest revision as RUNNING.

Revision ID: 0003_asleep_behind
Revises: 0002_token_scopes
Create Date: 2026-12-03
"""

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

revision = "0003_asleep_behind"
down_revision = "0002_token_scopes"
branch_labels = None
depends_on = None

RECORD = "asleep-behind.json"  # in `logs_dir/{owner}/{name}/`, as the release before wrote it


def upgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(sa.Column("asleep_behind_stage", sa.String(32), nullable=True))
        batch.add_column(sa.Column("asleep_behind_message", sa.String(), nullable=True))
    logs_dir = context.config.attributes.get("logs_dir")
    if logs_dir is None:
        return
    connection = op.get_bind()
    for space_id, owner, name in connection.execute(sa.text("SELECT id, owner, name FROM spaces")).all():
        path = Path(logs_dir) / owner / name / RECORD
        try:
            record = json.loads(path.read_text())
            stage, message = str(record["stage"]), record["errorMessage"]
        except FileNotFoundError:
            continue
        except (ValueError, KeyError, TypeError):  # cut short when the machine went down: nothing to keep
            path.unlink()
            continue
        connection.execute(
            sa.text("UPDATE spaces SET asleep_behind_stage = :stage, asleep_behind_message = :message WHERE id = :id"),
            {"stage": stage, "message": message, "id": space_id},
        )
        path.unlink()


def downgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.drop_column("asleep_behind_message")
        batch.drop_column("asleep_behind_stage")
