"""Tokens get a role (read or write), an optional owner scope, an expiry, a revocation date and the
time they were last used. Tokens made before keep their rights: write, over their user's spaces.

Revision ID: 0002_token_scopes
Revises: 0001_baseline
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_token_scopes"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("role", sa.String(8), nullable=False, server_default="write"))
        batch.add_column(sa.Column("owner_scope", sa.String(96), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        for column in ("last_used_at", "revoked_at", "expires_at", "owner_scope", "role"):
            batch.drop_column(column)
