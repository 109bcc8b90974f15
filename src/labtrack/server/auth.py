"""Users, API keys, project roles and sessions of the team server.

Roles per project: ``reader`` (see), ``writer`` (see and log), ``admin`` (also
delete and manage members). Server admins may do everything. A user who logs
the first run of a project that does not exist yet becomes its admin.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy import exc as sa_exc

from ..errors import AuthError, ConflictError, NotFoundError, UsageError
from . import auth_tables as t

ROLES = ("reader", "writer", "admin")
KEY_PREFIX = "lt_"
SESSION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class User:
    id: int
    name: str
    is_admin: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _valid_name(name: str) -> str:
    if not name or len(name) > 200 or not all(c.isalnum() or c in "-_.@" for c in name):
        raise UsageError(f"user name {name!r} is invalid: use letters, digits, - _ . @")
    return name


class AuthService:
    """Every auth query, over the server's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    # -- users ------------------------------------------------------------------
    def add_user(self, name: str, admin: bool = False, password: str | None = None) -> User:
        _valid_name(name)
        hashed = _hasher().hash(password) if password else None
        try:
            with self.store.write() as conn:
                uid = conn.execute(insert(t.users).values(
                    name=name, is_admin=admin, password_hash=hashed, created_at=time.time())
                ).inserted_primary_key[0]
        except sa_exc.IntegrityError:
            raise ConflictError(f"user {name!r} already exists") from None
        return User(int(uid), name, admin)

    def user(self, name: str) -> User:
        with self.store.read() as conn:
            row = conn.execute(select(t.users.c.id, t.users.c.name, t.users.c.is_admin)
                               .where(t.users.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user named {name!r}")
        return User(int(row[0]), row[1], bool(row[2]))

    def users(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [{"name": r[0], "is_admin": bool(r[1]), "created_at": r[2]} for r in
                    conn.execute(select(t.users.c.name, t.users.c.is_admin,
                                        t.users.c.created_at).order_by(t.users.c.name))]

    def set_password(self, name: str, password: str) -> None:
        if len(password) < 8:
            raise UsageError("passwords need at least 8 characters")
        user = self.user(name)
        with self.store.write() as conn:
            conn.execute(update(t.users).where(t.users.c.id == user.id)
                         .values(password_hash=_hasher().hash(password)))

    def check_password(self, name: str, password: str) -> User:
        """The user whose password this is; AuthError otherwise (same message either way)."""
        with self.store.read() as conn:
            row = conn.execute(select(t.users.c.id, t.users.c.name, t.users.c.is_admin,
                                      t.users.c.password_hash)
                               .where(t.users.c.name == name)).first()
        hasher = _hasher()
        if row is None or not row[3]:
            # spend the same time as a real check, so names cannot be probed by timing
            try:
                hasher.verify(hasher.hash("x" * 12), "y")
            except Exception:  # noqa: BLE001
                pass
            raise AuthError("wrong user name or password")
        try:
            hasher.verify(row[3], password)
        except Exception:  # noqa: BLE001 - argon2 raises several mismatch errors
            raise AuthError("wrong user name or password") from None
        return User(int(row[0]), row[1], bool(row[2]))

    # -- API keys ---------------------------------------------------------------
    def create_key(self, name: str, label: str | None = None) -> str:
        """A new API key for user ``name``; shown once, stored hashed."""
        user = self.user(name)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as conn:
            conn.execute(insert(t.api_keys).values(
                user_id=user.id, prefix=key[:10], key_hash=_digest(key), label=label,
                created_at=time.time()))
        return key

    def keys(self, name: str) -> list[dict[str, Any]]:
        user = self.user(name)
        with self.store.read() as conn:
            return [{"prefix": r[0], "label": r[1], "created_at": r[2], "last_used_at": r[3],
                     "revoked": r[4] is not None} for r in conn.execute(
                select(t.api_keys.c.prefix, t.api_keys.c.label, t.api_keys.c.created_at,
                       t.api_keys.c.last_used_at, t.api_keys.c.revoked_at)
                .where(t.api_keys.c.user_id == user.id))]

    def revoke_key(self, prefix: str) -> None:
        with self.store.write() as conn:
            done = conn.execute(update(t.api_keys).where(t.api_keys.c.prefix == prefix)
                                .values(revoked_at=time.time())).rowcount
        if not done:
            raise NotFoundError(f"no API key starting with {prefix!r}")

    def authenticate_key(self, key: str) -> User | None:
        if not key or not key.startswith(KEY_PREFIX):
            return None
        with self.store.read() as conn:
            row = conn.execute(
                select(t.users.c.id, t.users.c.name, t.users.c.is_admin, t.api_keys.c.id)
                .select_from(t.api_keys.join(t.users, t.users.c.id == t.api_keys.c.user_id))
                .where(t.api_keys.c.key_hash == _digest(key),
                       t.api_keys.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        return User(int(row[0]), row[1], bool(row[2]))

    # -- sessions (browser) -----------------------------------------------------
    def create_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.write() as conn:
            conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < now))
            conn.execute(insert(t.sessions).values(token_hash=_digest(token), user_id=user.id,
                                                   created_at=now,
                                                   expires_at=now + SESSION_SECONDS))
        return token

    def session_user(self, token: str) -> User | None:
        if not token:
            return None
        with self.store.read() as conn:
            row = conn.execute(
                select(t.users.c.id, t.users.c.name, t.users.c.is_admin)
                .select_from(t.sessions.join(t.users, t.users.c.id == t.sessions.c.user_id))
                .where(t.sessions.c.token_hash == _digest(token),
                       t.sessions.c.expires_at > time.time())).first()
        return None if row is None else User(int(row[0]), row[1], bool(row[2]))

    def end_session(self, token: str) -> None:
        with self.store.write() as conn:
            conn.execute(delete(t.sessions).where(t.sessions.c.token_hash == _digest(token)))

    # -- project roles ----------------------------------------------------------
    def set_role(self, project: str, name: str, role: str | None) -> None:
        """Give ``name`` a role in ``project`` (None removes the membership)."""
        if role is not None and role not in ROLES:
            raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        user = self.user(name)
        with self.store.write() as conn:
            conn.execute(delete(t.members).where(t.members.c.project == project,
                                                 t.members.c.user_id == user.id))
            if role is not None:
                conn.execute(insert(t.members).values(project=project, user_id=user.id,
                                                      role=role))

    def members(self, project: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [{"user": r[0], "role": r[1]} for r in conn.execute(
                select(t.users.c.name, t.members.c.role)
                .select_from(t.members.join(t.users, t.users.c.id == t.members.c.user_id))
                .where(t.members.c.project == project).order_by(t.users.c.name))]

    def role(self, user: User, project: str) -> str | None:
        if user.is_admin:
            return "admin"
        with self.store.read() as conn:
            return conn.execute(select(t.members.c.role).where(
                t.members.c.project == project, t.members.c.user_id == user.id)).scalar()

    def visible_projects(self, user: User) -> set[str] | None:
        """Projects ``user`` may read; None means all (server admin)."""
        if user.is_admin:
            return None
        with self.store.read() as conn:
            return {r[0] for r in conn.execute(select(t.members.c.project)
                                               .where(t.members.c.user_id == user.id))}

    def require(self, user: User, project: str, need: str) -> None:
        """AuthError unless ``user`` has at least role ``need`` in ``project``."""
        role = self.role(user, project)
        if role is None or ROLES.index(role) < ROLES.index(need):
            if role is None:
                raise NotFoundError(f"no project named {project!r}")  # non-members see nothing
            raise AuthError(f"{user.name} is a {role} of {project!r}; this needs {need}")

    def claim_project(self, user: User, project: str) -> None:
        """Make ``user`` admin of a project that has no members yet (first run logged)."""
        try:
            with self.store.write() as conn:
                exists = conn.execute(select(t.members.c.user_id)
                                      .where(t.members.c.project == project).limit(1)).first()
                if exists is None:
                    conn.execute(insert(t.members).values(project=project, user_id=user.id,
                                                          role="admin"))
        except sa_exc.IntegrityError:
            pass  # a concurrent request claimed it first (PostgreSQL); the first writer wins
