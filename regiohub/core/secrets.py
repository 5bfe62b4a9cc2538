"""Secrets of integrations (a webhook's shared secret, a TOPdesk application password, a
Telraam API key) are stored sealed: encrypted with a key that is not in the database
(``REGIOHUB_SECRETS_KEY``, else the file ``REGIOHUB_DATA_DIR/secrets_key``), so a copy of
the database alone does not hand them out. Sealed values are text with a prefix; values
stored before sealing existed are read as they are and sealed at the next save."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "sealed:v1:"


class SecretError(Exception):
    """A sealed value that this installation's key cannot open."""


def _key() -> bytes:
    if settings.SECRETS_KEY:
        return settings.SECRETS_KEY.encode()
    path = Path(settings.DATA_DIR) / "secrets_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # exclusive: two processes starting at once must not write two keys
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as out:
                out.write(Fernet.generate_key())
    for _ in range(50):  # another process may be writing it this very moment
        key = path.read_bytes().strip()
        if key:
            return key
        time.sleep(0.02)
    raise SecretError(f"{path} is empty")


@functools.lru_cache(maxsize=4)
def _fernet(key: bytes) -> Fernet:
    return Fernet(key)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(value: str) -> str:
    if not value or is_sealed(value):
        return value
    return PREFIX + _fernet(_key()).encrypt(value.encode()).decode()


def unseal(value: Any) -> Any:
    if not is_sealed(value):
        return value
    try:
        return _fernet(_key()).decrypt(value[len(PREFIX) :].encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretError(
            "a stored secret cannot be opened with this installation's REGIOHUB_SECRETS_KEY"
        ) from None


def seal_fields(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    sealed = dict(values)
    for name in names:
        if isinstance(sealed.get(name), str):
            sealed[name] = seal(sealed[name])
    return sealed


def unseal_fields(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    opened = dict(values)
    for name in names:
        if name in opened:
            opened[name] = unseal(opened[name])
    return opened
