"""Users and passwords (scrypt from the standard library; no C extension to build).

Accounts are managed by the admin and every change is audited. A token names the
`token_version` it was issued under; a password change, a role or unit change or a
deactivation bumps it, so tokens issued before die at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.audit import service as audit
from core.config import get_settings
from core.errors import Conflict, InvalidInput, NotFound
from core.timeutil import ensure_utc, utcnow
from core.units.models import Unit
from core.users.models import LoginThrottle, Role, User, UserCreate, UserUpdate

_N, _R, _P = 2**14, 8, 1


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    """The one place a password is hashed (tests count the calls: no timing oracle)."""
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)


def hash_password(password: str) -> str:
    """Return a salted scrypt hash as `scrypt$N$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Check a password against a stored hash in constant time."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        salt, expected, cost = base64.b64decode(salt_b64), base64.b64decode(digest_b64), (int(n), int(r), int(p))
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(_scrypt(password, salt, *cost), expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Unknown and inactive users are checked against this, so every login does the same work.
    return hash_password(secrets.token_urlsafe(16))


def get(*, session: Session, user_id: int) -> User | None:
    """Return a user by id."""
    return session.get(User, user_id)


def get_by_username(*, session: Session, username: str) -> User | None:
    """Return a user by login name."""
    return session.exec(select(User).where(User.username == username)).first()


def get_all(*, session: Session) -> list[User]:
    """Return all users."""
    return list(session.exec(select(User).order_by(col(User.id))))


def _public(user: User) -> dict[str, object]:
    # What an audit row may say about a user: never the hash.
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "unit_id": user.unit_id, "is_active": user.is_active}


def _check_unit(session: Session, role: str, unit_id: int | None) -> None:
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise InvalidInput(f"责任单位不存在: {unit_id}")
    if role == Role.handler and unit_id is None:
        raise InvalidInput("承办人须指定所属单位")


def create(*, session: Session, user_in: UserCreate, actor_id: int | None = None) -> User:
    """Create a user; the username must be new and the role one of the closed set."""
    if get_by_username(session=session, username=user_in.username):
        raise Conflict(f"用户名已存在: {user_in.username}")
    role = Role(user_in.role)  # raises for an unknown role even when called without the API
    if actor_id is not None:  # people created through the API; fixtures may skip the unit
        _check_unit(session, role, user_in.unit_id)
    user = User.model_validate(user_in, update={"role": role.value,
                                                "password_hash": hash_password(user_in.password)})
    session.add(user)
    session.flush()
    assert user.id is not None
    audit.record(session=session, entity="user", entity_id=user.id, action="create",
                 actor_id=actor_id, after=_public(user))
    return user


def _active_admins(session: Session) -> int:
    return len(list(session.exec(select(User.id).where(User.role == Role.admin.value,
                                                       User.is_active == True))))  # noqa: E712


def update(*, session: Session, user_id: int, user_in: UserUpdate, actor_id: int | None) -> User:
    """Change name, role, unit or active flag; a change of access kills the user's tokens."""
    user = get(session=session, user_id=user_id)
    if user is None:
        raise NotFound(f"用户不存在: {user_id}")
    values = user_in.model_dump(exclude_unset=True)
    for key in ("full_name", "role", "is_active"):
        if key in values and values[key] is None:
            del values[key]  # null means "unchanged" for these; unit_id null means "no unit"
    if "role" in values:
        values["role"] = Role(values["role"]).value
    role, unit_id = values.get("role", user.role), values.get("unit_id", user.unit_id)
    _check_unit(session, role, unit_id)
    was_admin = user.role == Role.admin and user.is_active
    stays_admin = role == Role.admin and values.get("is_active", user.is_active)
    if was_admin and not stays_admin and _active_admins(session) <= 1:
        raise Conflict("不能停用或降级最后一个管理员")
    before, after = audit.diff(user, values)
    if not after:
        return user
    for key, value in values.items():
        setattr(user, key, value)
    if {"role", "unit_id"} & after.keys() or after.get("is_active") is False:
        user.token_version += 1
    session.add(user)
    audit.record(session=session, entity="user", entity_id=user_id, action="update",
                 actor_id=actor_id, before=before, after=after)
    return user


def set_password(*, session: Session, user: User, password: str, actor_id: int | None,
                 action: str = "reset_password") -> User:
    """Store a new password and kill every token issued before."""
    user.password_hash = hash_password(password)
    user.token_version += 1
    session.add(user)
    assert user.id is not None
    audit.record(session=session, entity="user", entity_id=user.id, action=action, actor_id=actor_id,
                 note="管理员重置密码" if action == "reset_password" else "本人修改密码")
    return user


def change_own_password(*, session: Session, user: User, old_password: str, new_password: str) -> User:
    """A user's own change: the old password must match."""
    if not verify_password(old_password, user.password_hash):
        raise InvalidInput("原密码不正确")
    if old_password == new_password:
        raise InvalidInput("新密码不能与原密码相同")
    return set_password(session=session, user=user, password=new_password, actor_id=user.id,
                        action="change_password")


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """Return the active user whose password matches, else None.

    Exactly one hash is computed whatever the outcome (unknown, inactive, wrong or right),
    so response times do not tell which user names exist.
    """
    dummy = _dummy_hash()  # made on the first login of the process, whoever it is for
    user = get_by_username(session=session, username=username)
    usable = user is not None and user.is_active
    ok = verify_password(password, user.password_hash if usable and user is not None else dummy)
    return user if usable and ok else None


def ensure_admin(*, session: Session, password: str | None) -> tuple[User, str | None]:
    """Create the `admin` user if missing; returns it and the generated password, if any."""
    user = get_by_username(session=session, username="admin")
    if user is not None:
        if password and not verify_password(password, user.password_hash):
            user.password_hash = hash_password(password)
            user.token_version += 1
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


# Login throttling ------------------------------------------------------------------------

def throttle_keys(username: str, address: str | None) -> list[tuple[str, int]]:
    """(key, failures allowed) for the account and, when known, the client address."""
    settings = get_settings()
    keys = [(f"user:{username.strip().lower()[:100]}", settings.login_max_failures)]
    if address:
        keys.append((f"addr:{address[:100]}", settings.login_max_failures_per_address))
    return keys


def retry_after(*, session: Session, username: str, address: str | None,
                now: datetime | None = None) -> int | None:
    """Seconds until this account or address may try again, or None when it may now."""
    now = ensure_utc(now) if now else utcnow()
    keys = [k for k, _ in throttle_keys(username, address)]
    waits = [math.ceil((ensure_utc(row.locked_until) - now).total_seconds())
             for row in session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys)))
             if row.locked_until is not None and ensure_utc(row.locked_until) > now]
    return max(waits) if waits else None


def record_failure(*, session: Session, username: str, address: str | None,
                   now: datetime | None = None) -> None:
    """Count a wrong password against the account and the address; lock either at its limit."""
    settings = get_settings()
    now = ensure_utc(now) if now else utcnow()
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    # Forget stale rows so a spray of made-up names cannot grow the table without bound.
    session.execute(sa.delete(LoginThrottle).where(
        col(LoginThrottle.window_started_at) < window_start,
        sa.or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) < now)))
    for key, limit in throttle_keys(username, address):
        row = session.get(LoginThrottle, key)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(LoginThrottle(key=key, failures=0, window_started_at=now))
            except IntegrityError:  # a concurrent failure inserted it first
                pass
            row = session.get(LoginThrottle, key)
            assert row is not None
        elif ensure_utc(row.window_started_at) < window_start:
            row.failures, row.window_started_at = 0, now
            session.add(row)
            session.flush()
        # Increment in SQL: concurrent wrong passwords must all count.
        session.execute(sa.update(LoginThrottle).where(col(LoginThrottle.key) == key)
                        .values(failures=LoginThrottle.failures + 1))
        session.refresh(row)
        if row.failures >= limit:
            row.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
            row.failures, row.window_started_at = 0, now
            session.add(row)
            _audit_lock(session, key, username, address, limit, settings.login_lockout_seconds)
    session.flush()


def _audit_lock(session: Session, key: str, username: str, address: str | None, failures: int,
                seconds: int) -> None:
    # The admin should see that someone is guessing a real account's password.
    user = get_by_username(session=session, username=username) if key.startswith("user:") else None
    if user is None or user.id is None:
        return
    audit.record(session=session, entity="user", entity_id=user.id, action="locked", actor_id=None,
                 note=f"连续 {failures} 次密码错误，锁定 {seconds // 60} 分钟（来源地址 {address or '未知'}）")


def record_success(*, session: Session, username: str) -> None:
    """A successful login clears the account's count (not the address's)."""
    key, _ = throttle_keys(username, None)[0]
    session.execute(sa.delete(LoginThrottle).where(col(LoginThrottle.key) == key))
