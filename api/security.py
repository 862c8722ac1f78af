"""Bearer tokens (JWT, HS256) signed with a key that survives restarts."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import jwt

from core.config import Settings, get_settings
from core.timeutil import utcnow

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
SECRET_FILE = "secret_key"


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired."""


def signing_key(settings: Settings | None = None) -> str:
    """The configured secret, else one generated once and kept in var_dir (mode 0600)."""
    settings = settings or get_settings()
    if settings.secret_key:
        return settings.secret_key
    return _persistent_key(str((settings.var_dir / SECRET_FILE).resolve()))


@lru_cache
def _persistent_key(path_str: str) -> str:
    path = Path(path_str)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = path.read_text().strip()
        if stored:
            return stored
        raise RuntimeError(f"{path} is empty; delete it or set YUQING_SECRET_KEY") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.warning("no YUQING_SECRET_KEY set: generated one in %s", path)
    return key


def create_access_token(user_id: int, *, role: str, token_version: int = 0,
                        settings: Settings | None = None) -> str:
    """A signed token naming the user and the token version it is valid for; it expires after
    settings.token_minutes."""
    settings = settings or get_settings()
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_minutes),
    }
    return jwt.encode(payload, signing_key(settings), algorithm=ALGORITHM)


def token_claims(token: str, settings: Settings | None = None) -> tuple[int, int]:
    """(user id, token version) of a valid token, or InvalidToken."""
    try:
        payload = jwt.decode(token, signing_key(settings), algorithms=[ALGORITHM],
                             options={"require": ["sub", "exp"]})
        version = payload.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidToken("bad token version")
        return int(payload["sub"]), version
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def user_id_from_token(token: str, settings: Settings | None = None) -> int:
    """The user id a valid token names, or InvalidToken."""
    return token_claims(token, settings)[0]
