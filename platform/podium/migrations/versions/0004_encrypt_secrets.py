"""Spaces' secrets are encrypted at rest (podium.secret_box): every secret a release before stored in plain
text is encrypted with the secrets key `podium.migrations.upgrade` is given. A database with secrets and no
key to encrypt them with is left as it is, with an error that says what to set.

Revision ID: 0004_encrypt_secrets
Revises: 0003_asleep_behind
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0004_encrypt_secrets"
down_revision = "0003_asleep_behind"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, value FROM secrets")).all()
    if not rows:
        return
    box = context.config.attributes.get("secret_box")
    if box is None:
        raise RuntimeError(
            "this database holds secrets in plain text, and encrypting them needs the secrets key: run "
            "`podium serve` or `podium db upgrade`, which read PODIUM_SECRETS_KEY or PODIUM_SECRETS_KEY_FILE"
        )
    for secret_id, value in rows:
        connection.execute(
            sa.text("UPDATE secrets SET value = :value WHERE id = :id"), {"value": box.encrypt(value), "id": secret_id}
        )


def downgrade() -> None:
    box = context.config.attributes.get("secret_box")
    connection = op.get_bind()
    for secret_id, value in connection.execute(sa.text("SELECT id, value FROM secrets")).all():
        connection.execute(
            sa.text("UPDATE secrets SET value = :value WHERE id = :id"), {"value": box.decrypt(value), "id": secret_id}
        )
