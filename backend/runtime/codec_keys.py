"""Payload encryption keys (`FLIGHTDECK_CODEC_KEYS` / `FLIGHTDECK_CODEC_KEY_FILE`) and the codec
server's capability path.

Standard library only: the supervisor, which never imports temporalio, uses it to point the
embedded Temporal UI at the codec server. The codec itself is `backend/runtime/codec.py`.

Keys are `id:base64` entries (32-byte AES-256 keys), the first one current: new payloads are
encrypted with it, older ones still decrypt with theirs. Rotate by putting a new key first.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from backend.config import ConfigError, Settings

KEY_BYTES = 32
"""AES-256-GCM keys."""

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Key ids travel in payload metadata and name a key in errors: short and plain."""

_CAPABILITY_LABEL = b"flightdeck codec endpoint v1"


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id; `current` encrypts, every key decrypts."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current key {self.current} is not in the key ring")

    def __repr__(self) -> str:  # never print key material
        return f"KeyRing(ids={list(self.keys)}, current={self.current!r})"

    @classmethod
    def parse(cls, entries: list[str], *, source: str) -> KeyRing:
        """A key ring from `id:base64` entries (first current); ConfigError naming the `source`
        (e.g. `FLIGHTDECK_CODEC_KEYS`), the entry and the problem, never the key itself."""
        keys: dict[str, bytes] = {}
        for number, entry in enumerate(entries, start=1):
            where = f"{source} entry {number}"
            key_id, key = parse_entry(entry, where=where)
            if key_id in keys:
                raise ConfigError(f"{where}: key id {key_id} appears twice")
            keys[key_id] = key
        if not keys:
            raise ConfigError(f"{source} holds no key (make one with `flightdeck codec new-key`)")
        return cls(keys=MappingProxyType(keys), current=next(iter(keys)))


def parse_entry(entry: str, *, where: str) -> tuple[str, bytes]:
    """One `id:base64` entry as (id, 32-byte key); ConfigError on a bad id, base64 or length."""
    key_id, colon, encoded = entry.strip().partition(":")
    key_id = key_id.strip()
    if not colon:
        raise ConfigError(f"{where}: expected id:base64-key (e.g. k1:...), got no ':'")
    check_key_id(key_id, where=where)
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: key {key_id} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{where}: key {key_id} is {len(key)} bytes, AES-256 needs {KEY_BYTES}"
            " (make one with `flightdeck codec new-key`)"
        )
    return key_id, key


def check_key_id(key_id: str, *, where: str = "key id") -> None:
    """ConfigError unless `key_id` is 1-64 letters, digits, `_`, `.` or `-`."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        shown = key_id if len(key_id) <= 40 else key_id[:40] + "..."
        raise ConfigError(
            f"{where}: key id {shown!r} must be 1-64 letters, digits, '_', '.' or '-'"
        )


def load_keyring(settings: Settings) -> KeyRing | None:
    """The configured key ring, or None when payload encryption is off; ConfigError on bad
    keys or an unsafe key file."""
    if settings.codec_keys and settings.codec_key_file:
        raise ConfigError("set FLIGHTDECK_CODEC_KEYS or FLIGHTDECK_CODEC_KEY_FILE, not both")
    if settings.codec_keys:
        entries = [e for e in settings.codec_keys.split(",") if e.strip()]
        return KeyRing.parse(entries, source="FLIGHTDECK_CODEC_KEYS")
    if settings.codec_key_file:
        return read_key_file(settings.codec_key_file.expanduser())
    return None


def encryption_configured(settings: Settings) -> bool:
    """True when payload encryption keys are configured (without reading or checking them)."""
    return bool(settings.codec_keys or settings.codec_key_file)


def read_key_file(path: Path) -> KeyRing:
    """Keys from a file of `id:base64` lines (first current; blank and `#` lines ignored),
    which must be private to its owner."""
    return KeyRing.parse(_key_file_lines(path), source=f"codec key file {path}")


def _key_file_lines(path: Path) -> list[str]:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"codec key file {path} is accessible by group or others"
                f" (mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"cannot read codec key file {path}: {err.strerror or err} (FLIGHTDECK_CODEC_KEY_FILE)"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"codec key file {path} is not text (one id:base64 per line)") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def new_key_line(key_id: str | None = None) -> str:
    """A fresh random key as an `id:base64` entry (id: `k<date>-<random>` unless given)."""
    if key_id is None:
        key_id = f"k{dt.date.today():%Y%m%d}-{secrets.token_hex(2)}"
    check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def add_key_to_file(path: Path, key_id: str | None = None) -> str:
    """Prepend a fresh key to the key file (created 0600), making it current; its id.

    Existing keys stay, so payloads encrypted with them still decrypt."""
    existing = _key_file_lines(path) if path.exists() else []
    known = (
        set(KeyRing.parse(existing, source=f"codec key file {path}").keys) if existing else set()
    )
    if key_id is not None and key_id in known:
        raise ConfigError(f"codec key file {path} already holds a key with id {key_id}")
    line = new_key_line(key_id)
    while line.partition(":")[0] in known:  # a generated id that happens to exist
        line = new_key_line()
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join([line, *existing]) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"cannot write codec key file {path}: {err.strerror or err}") from None
    return line.partition(":")[0]


def codec_capability(token: str) -> str:
    """The secret path segment that lets the embedded Temporal UI call the codec server without
    the bearer token: an HMAC of a fixed label keyed with the API token (hex)."""
    return hmac.new(token.encode(), _CAPABILITY_LABEL, hashlib.sha256).hexdigest()
