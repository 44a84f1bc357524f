"""Podium's metadata in SQL (SQLite by default) through SQLAlchemy 2.

The files of a space live in its git repository (`podium.repos`); this holds what is not a file:
who owns it, its stage, its settings, builds and runs, variables, secrets and token hashes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, create_engine, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, object_session, relationship, sessionmaker

from podium import migrations
from podium.secret_box import SecretBox, SecretsKeyError
from podium.settings import host_label


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    sdk: Mapped[str] = mapped_column(String(16), default="gradio")
    private: Mapped[bool] = mapped_column(default=False)
    hardware: Mapped[str] = mapped_column(String(32), default="cpu-basic")
    sleep_time: Mapped[int | None] = mapped_column(default=None)
    stage: Mapped[str] = mapped_column(String(32), default="NO_APP_FILE")
    error_message: Mapped[str | None] = mapped_column(default=None)
    sha: Mapped[str | None] = mapped_column(String(40), default=None)  # head of main
    serving_sha: Mapped[str | None] = mapped_column(String(40), default=None)
    # What the backend needs to re-adopt the serving instance after `podium serve` restarts.
    instance_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    card_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # While the space sleeps behind its latest revision's failure: that failure, shown again once it wakes.
    asleep_behind_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    asleep_behind_message: Mapped[str | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now, onupdate=now)

    variables: Mapped[list[Variable]] = relationship(cascade="all, delete-orphan", order_by="Variable.key")
    secrets: Mapped[list[Secret]] = relationship(cascade="all, delete-orphan", order_by="Secret.key")
    builds: Mapped[list[Build]] = relationship(cascade="all, delete-orphan", order_by="Build.id")
    runs: Mapped[list[Run]] = relationship(cascade="all, delete-orphan", order_by="Run.id")

    @property
    def space_id(self) -> str:
        return f"{self.owner}/{self.name}"


class HubRepo(Base):
    """A model or dataset repository (podium.models): its files live in a bare git repository like a
    space's, and nothing is ever built or run from it. A model and a space may share `owner/name`."""

    __tablename__ = "hub_repos"
    __table_args__ = (UniqueConstraint("repo_type", "owner", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_type: Mapped[str] = mapped_column(String(16))  # huggingface_hub's repo_type: model | dataset
    owner: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    private: Mapped[bool] = mapped_column(default=False)
    sha: Mapped[str | None] = mapped_column(String(40), default=None)  # head of main
    card_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # README front matter at `sha`
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now, onupdate=now)

    @property
    def repo_id(self) -> str:
        return f"{self.owner}/{self.name}"


class _KeyValue:
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column()
    description: Mapped[str | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now, onupdate=now)


class Variable(_KeyValue, Base):
    __tablename__ = "variables"
    __table_args__ = (UniqueConstraint("space_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))


class Secret(_KeyValue, Base):
    """Values are write-only: the API returns keys, descriptions and dates, never `value`. `value` holds the
    value encrypted (podium.secret_box): `seal` sets it, `reveal` reads it, with the session's key."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("space_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))

    def seal(self, plain: str) -> None:
        self.value = secret_box_of(self).encrypt(plain)

    def reveal(self) -> str:
        return secret_box_of(self).decrypt(self.value)


def secret_box_of(row: Base) -> SecretBox:
    """The secrets key of the database `row` belongs to (`Database(secret_box=...)`)."""
    session = object_session(row)
    box = session.info.get("secret_box") if session is not None else None
    if box is None:
        raise SecretsKeyError("this database was opened without a secrets key, so it cannot read or store secrets")
    return box


class Build(Base):
    """One build of one revision: how it went, kept for history."""

    __tablename__ = "builds"
    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(40))
    environment: Mapped[str | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(32), default="BUILDING")
    started_at: Mapped[dt.datetime] = mapped_column(default=now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Run(Base):
    """One instance's life: when it started, which revision, how it ended."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    sha: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[dt.datetime] = mapped_column(default=now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(default=None)


class Token(Base):
    """An API token; only its SHA-256 is stored. What it may do is `podium.auth.User`'s to say."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user: Mapped[str] = mapped_column(String(96))
    display_name: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    role: Mapped[str] = mapped_column(String(8), default="write", server_default="write")  # read | write
    # The one owner whose spaces this token is good for; None: its user's (every one's for an admin).
    owner_scope: Mapped[str | None] = mapped_column(String(96), default=None)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class OAuthClient(Base):
    """The OAuth app of a space whose README says `hf_oauth: true` (podium.oauth). Its secret is stored
    nowhere: it is derived from the data folder's secret and `secret_generation` (podium.oauth.clients)."""

    __tablename__ = "oauth_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_generation: Mapped[int] = mapped_column(default=1)
    # Space-separated, as OAUTH_SCOPES: `openid profile` and what `hf_oauth_scopes` adds.
    scopes: Mapped[str] = mapped_column(String(512), default="openid profile")
    expiration_minutes: Mapped[int] = mapped_column(default=480)
    # `hf_oauth_authorized_org`: who may sign in (JSON list of names); None: every Podium user.
    authorized: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now)


class OAuthCode(Base):
    """An authorization code, by its SHA-256: good once, for a minute or two, for one client."""

    __tablename__ = "oauth_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(96))
    redirect_uri: Mapped[str] = mapped_column()
    scope: Mapped[str] = mapped_column(String(512))
    nonce: Mapped[str | None] = mapped_column(default=None)
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(8), default=None)
    auth_time: Mapped[int] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    # Set when redeemed: a second use is refused and revokes what the first one gave.
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class OAuthToken(Base):
    """An access token given to a space's app for a user, by its SHA-256."""

    __tablename__ = "oauth_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_codes.id", ondelete="CASCADE"), default=None)
    user: Mapped[str] = mapped_column(String(96))
    scope: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class SpaceRedirect(Base):
    """A name a space had before it moved (`podium.spaces.move`): calls to it are sent on to the space's name
    now, as the Hub does, until a space takes the old name again."""

    __tablename__ = "space_redirects"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    space: Mapped[Space] = relationship()


class HubRepoRedirect(Base):
    """A name a model or dataset had before it moved (`podium.models.records.move`): calls to it are sent on
    to the repository's name now, until a repository of its type takes the old name again."""

    __tablename__ = "hub_repo_redirects"
    __table_args__ = (UniqueConstraint("repo_type", "owner", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    repo_type: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    hub_repo_id: Mapped[int] = mapped_column(ForeignKey("hub_repos.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now)
    repo: Mapped[HubRepo] = relationship()


class Database:
    def __init__(self, url: str, logs_dir: Path | None = None, secret_box: SecretBox | None = None):
        """`secret_box` encrypts and decrypts spaces' secrets; without one they can be neither stored nor read."""
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, connect_args=connect_args)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # The schema changes only through migrations, never `create_all` (podium.migrations).
        migrations.upgrade(self.engine, logs_dir, secret_box)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={"secret_box": secret_box})
        # How many commits changed a space: readers that keep what they read of spaces between sessions
        # (the spaces origin, for every proxied request) know from it when to read again.
        self.space_changes = 0
        self._counting = threading.Lock()  # commits run in worker threads too; no increment may be lost
        event.listen(self._sessions, "after_flush", _note_space_writes)
        event.listen(self._sessions, "after_commit", self._count_space_changes)
        if secret_box is not None:
            self.check_secrets_key()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends without error."""
        with self._sessions() as session, session.begin():
            yield session

    def _count_space_changes(self, session: Session) -> None:
        if session.info.pop(_SPACES_WRITTEN, False):
            with self._counting:
                self.space_changes += 1

    def check_secrets_key(self) -> None:
        """Refuse at once, naming the key, a database whose secrets another key encrypted: found later, every
        start of a space with a secret would fail instead."""
        with self.session() as session:
            for secret in session.scalars(select(Secret)):
                secret.reveal()

    def find_space(self, session: Session, space_id: str) -> Space | None:
        owner, _, name = space_id.partition("/")
        return session.scalar(select(Space).where(Space.owner == owner, Space.name == name))

    def moved_space(self, session: Session, space_id: str) -> Space | None:
        """The space that was called `space_id` before it moved, if no space is called that now."""
        owner, _, name = space_id.partition("/")
        redirect = session.scalar(select(SpaceRedirect).where(SpaceRedirect.owner == owner, SpaceRedirect.name == name))
        return redirect.space if redirect is not None else None

    def find_space_by_host_label(self, session: Session, label: str) -> Space | None:
        """The space whose host-mode address is `label` (`host_label`). Creation keeps each label to one
        space (`address_taken`); where an older Podium let two share one, the older space holds it and
        the other is reachable in path mode only."""
        return session.scalars(select(Space).where(_host_label_column() == label).order_by(Space.id)).first()

    def address_taken(self, session: Session, space_id: str) -> Space | None:
        """The space, if any, whose host-mode address `space_id`'s would be too."""
        return self.find_space_by_host_label(session, host_label(space_id))


def _host_label_column() -> Any:
    return func.lower(func.replace(func.replace(Space.owner + "-" + Space.name, "_", "-"), ".", "-"))


_SPACES_WRITTEN = "spaces_written"


def _note_space_writes(session: Session, _flush_context: Any) -> None:
    """Mark a session that flushed a new, changed or deleted space; its commit counts (`space_changes`)."""
    if any(isinstance(row, Space) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info[_SPACES_WRITTEN] = True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
