"""A space that moves (`move_repo`) leaves its old name behind as a redirect to its new one, as on the Hub.

Revision ID: 0006_space_redirects
Revises: 0005_oauth
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_space_redirects"
down_revision = "0005_oauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "space_redirects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(96), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("space_id", sa.Integer(), sa.ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("owner", "name"),
    )


def downgrade() -> None:
    op.drop_table("space_redirects")
