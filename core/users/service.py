"""Users and passwords (scrypt from the standard library; no C extension to build)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlmodel import Session, col, select

from core.errors import Conflict
from core.users.models import Role, User, UserCreate

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """Return a salted scrypt hash as `scrypt$N$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Check a password against a stored hash in constant time."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def get(*, session: Session, user_id: int) -> User | None:
    """Return a user by id."""
    return session.get(User, user_id)


def get_by_username(*, session: Session, username: str) -> User | None:
    """Return a user by login name."""
    return session.exec(select(User).where(User.username == username)).first()


def get_all(*, session: Session) -> list[User]:
    """Return all users."""
    return list(session.exec(select(User).order_by(col(User.id))))


def create(*, session: Session, user_in: UserCreate) -> User:
    """Create a user; the username must be new."""
    if get_by_username(session=session, username=user_in.username):
        raise Conflict(f"用户名已存在: {user_in.username}")
    user = User.model_validate(user_in, update={"password_hash": hash_password(user_in.password)})
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """Return the active user whose password matches, else None."""
    user = get_by_username(session=session, username=username)
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        return None
    return user


def ensure_admin(*, session: Session, password: str | None) -> tuple[User, str | None]:
    """Create the `admin` user if missing; returns it and the generated password, if any."""
    user = get_by_username(session=session, username="admin")
    if user is not None:
        if password and not verify_password(password, user.password_hash):
            user.password_hash = hash_password(password)
            session.add(user)
        return user, None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user = create(
        session=session,
        user_in=UserCreate(username="admin", full_name="系统管理员", role=Role.admin, password=password),
    )
    return user, generated
