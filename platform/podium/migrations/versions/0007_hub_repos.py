"""Model and dataset repositories (issue 12): hosted like spaces' (a bare git repository each), never run.

Revision ID: 0007_hub_repos
Revises: 0006_space_redirects
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_hub_repos"
down_revision = "0006_space_redirects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_repos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_type", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(96), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("sha", sa.String(40), nullable=True),
        sa.Column("card_data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repo_type", "owner", "name"),
    )


def downgrade() -> None:
    op.drop_table("hub_repos")
