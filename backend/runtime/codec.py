"""Payload encryption: an AES-256-GCM `PayloadCodec` with key ids, for every Temporal client.

Each payload (already serialized by the pydantic converter) is encrypted whole, so Temporal's
history holds ciphertext only: metadata `encoding: binary/encrypted` and `encryption-key-id`,
data = 12-byte random nonce + ciphertext + tag, with the key id as associated data (a payload
cannot be passed off as encrypted under another id). Decoding picks the key by the payload's id,
so a key ring with a new current key still reads what older keys wrote (rotation).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from backend.runtime.codec_keys import KeyRing

ENCODING = b"binary/encrypted"
"""`encoding` metadata of an encrypted payload."""

KEY_ID_METADATA = "encryption-key-id"
"""Metadata naming the key a payload was encrypted with."""

NONCE_BYTES = 12


class CodecError(Exception):
    """A payload that cannot be decrypted; the message is one readable line naming the key id."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the key ring's current key; decrypts with whichever key a payload names."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    @property
    def current_key_id(self) -> str:
        """The id new payloads are encrypted with."""
        return self._keyring.current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload with the current key."""
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; pass others (written before encryption was on) through."""
        return [
            self.decrypt(payload) if payload.metadata.get("encoding") == ENCODING else payload
            for payload in payloads
        ]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, serialized whole and sealed with the current key."""
        key_id = self._keyring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One encrypted payload back to the original; CodecError naming the key id."""
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_id is None:
            raise CodecError(f"encrypted payload has no {KEY_ID_METADATA} metadata")
        key_id = raw_id.decode("utf-8", errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._keyring.keys)
            raise CodecError(
                f"payload is encrypted with key {key_id!r}, which is not configured (known: "
                f"{known}); add it to FLIGHTDECK_CODEC_KEYS or the key file"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, raw_id)
        except InvalidTag:
            raise CodecError(
                f"payload encrypted with key {key_id!r} failed authentication: it was altered,"
                f" or written with another key under the same id"
            ) from None
        try:
            return Payload.FromString(plain)
        except Exception:  # protobuf's DecodeError; authenticated, so only a foreign writer
            raise CodecError(f"payload decrypted with key {key_id!r} is not a payload") from None


def data_converter(keyring: KeyRing | None) -> DataConverter:
    """The pydantic data converter, encrypting payloads when a key ring is configured."""
    if keyring is None:
        return pydantic_data_converter
    # Failure messages and stack traces are encrypted too (terraform errors can quote values).
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def encryption_codec(converter: DataConverter) -> EncryptionCodec | None:
    """The converter's encryption codec (what a client encrypts with), if it has one."""
    codec = converter.payload_codec
    return codec if isinstance(codec, EncryptionCodec) else None
