"""A model or dataset that moves (`move_repo`) leaves its old name behind as a redirect, as a space does (0006).

Revision ID: 0008_hub_repo_redirects
Revises: 0007_hub_repos
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_hub_repo_redirects"
down_revision = "0007_hub_repos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_repo_redirects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_type", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(96), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("hub_repo_id", sa.Integer(), sa.ForeignKey("hub_repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repo_type", "owner", "name"),
    )


def downgrade() -> None:
    op.drop_table("hub_repo_redirects")
