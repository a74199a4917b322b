"""Payload encryption: the AES-GCM codec (round trip, wrong key, rotation, tampering), key rings
from the environment or a private key file, `flightdeck codec new-key`, and the embedded UI's
codec endpoint."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from backend.config import ConfigError, TemporalSettings, load_settings
from backend.runtime.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecError,
    EncryptionCodec,
    data_converter,
    encryption_codec,
)
from backend.runtime.codec_keys import (
    KeyRing,
    add_key_to_file,
    codec_capability,
    load_keyring,
    new_key_line,
    read_key_file,
)
from backend.runtime.embedded import embedded_server, ui_codec_endpoint
from backend.runtime.temporal_server import EmbeddedTemporalServer

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-launch-code"
K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()


class Order(BaseModel):
    """A workflow input with something worth hiding."""

    name: str
    password: str


def ring(*entries: str) -> KeyRing:
    return KeyRing.parse(list(entries), source="test keys")


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_round_trip_through_the_data_converter_hides_the_input() -> None:
    converter = data_converter(ring(K1))

    encoded = await converter.encode([Order(name="db", password=SECRET)])
    decoded = await converter.decode(encoded, [Order])

    assert encoded[0].metadata["encoding"] == ENCODING
    assert encoded[0].metadata[KEY_ID_METADATA] == b"k1"
    assert SECRET.encode() not in encoded[0].SerializeToString()
    assert decoded == [Order(name="db", password=SECRET)]


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec(ring(K1))

    first, second = await codec.encode([plain(SECRET), plain(SECRET)])

    assert first.data != second.data


async def test_decoding_with_a_ring_lacking_the_key_names_the_missing_id() -> None:
    encoded = await EncryptionCodec(ring(K1)).encode([plain(SECRET)])

    with pytest.raises(CodecError, match=r"key 'k1', which is not configured \(known: k2\)"):
        await EncryptionCodec(ring(K2)).decode(encoded)


async def test_rotation_decodes_old_payloads_and_encrypts_with_the_new_key() -> None:
    old = await EncryptionCodec(ring(K1)).encode([plain("old")])
    rotated = EncryptionCodec(ring(K2, K1))

    new = await rotated.encode([plain("new")])

    assert await rotated.decode(old) == [plain("old")]
    assert new[0].metadata[KEY_ID_METADATA] == b"k2"
    assert await rotated.decode(new) == [plain("new")]
    assert rotated.current_key_id == "k2"


async def test_tampered_ciphertext_fails_authentication() -> None:
    codec = EncryptionCodec(ring(K1))
    (encoded,) = await codec.encode([plain(SECRET)])
    flipped = bytearray(encoded.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(encoded.metadata), data=bytes(flipped))

    with pytest.raises(CodecError, match="key 'k1' failed authentication"):
        await codec.decode([tampered])


async def test_a_payload_relabelled_with_another_known_key_id_fails() -> None:
    codec = EncryptionCodec(ring(K2, K1))
    (encoded,) = await EncryptionCodec(ring(K1)).encode([plain(SECRET)])
    relabelled = Payload(metadata={**encoded.metadata, KEY_ID_METADATA: b"k2"}, data=encoded.data)

    with pytest.raises(CodecError, match="key 'k2' failed authentication"):
        await codec.decode([relabelled])


async def test_payloads_that_are_not_encrypted_pass_through() -> None:
    codec = EncryptionCodec(ring(K1))

    assert await codec.decode([plain("written before encryption")]) == [
        plain("written before encryption")
    ]


def test_without_keys_the_converter_is_the_plain_pydantic_one() -> None:
    assert data_converter(None) is pydantic_data_converter
    assert encryption_codec(pydantic_data_converter) is None
    assert isinstance(encryption_codec(data_converter(ring(K1))), EncryptionCodec)


def test_keys_from_the_environment_first_is_current(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, codec_keys=f"{K2}, {K1}")

    keyring = load_keyring(settings)

    assert keyring is not None
    assert keyring.current == "k2"
    assert list(keyring.keys) == ["k2", "k1"]
    assert "2222" not in repr(keyring)


def test_no_keys_means_encryption_off(tmp_path: Path) -> None:
    assert load_keyring(load_settings(data_dir=tmp_path)) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k1:not*base64", "FLIGHTDECK_CODEC_KEYS entry 1: key k1 is not valid base64"),
        (
            "k1:" + base64.b64encode(b"short").decode(),
            "entry 1: key k1 is 5 bytes, AES-256 needs 32",
        ),
        (f"{K1},{K1}", "FLIGHTDECK_CODEC_KEYS entry 2: key id k1 appears twice"),
        ("just-a-key", "entry 1: expected id:base64-key"),
        ("bad id:" + K1[3:], "key id 'bad id' must be"),
        (" , ", "FLIGHTDECK_CODEC_KEYS holds no key"),
    ],
)
def test_bad_keys_are_one_readable_line_without_the_key(
    tmp_path: Path, value: str, message: str
) -> None:
    settings = load_settings(data_dir=tmp_path, codec_keys=value)

    with pytest.raises(ConfigError) as raised:
        load_keyring(settings)

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert K1[3:] not in str(raised.value)


def test_keys_and_key_file_together_are_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, codec_keys=K1, codec_key_file=tmp_path / "keys")

    with pytest.raises(ConfigError, match="not both"):
        load_keyring(settings)


def test_key_file_with_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2025-01\n{K2}\n\n{K1}\n")
    path.chmod(0o600)

    keyring = read_key_file(path)

    assert (keyring.current, list(keyring.keys)) == ("k2", ["k2", "k1"])


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(K1 + "\n")
    path.chmod(0o644)
    settings = load_settings(data_dir=tmp_path, codec_key_file=path)

    with pytest.raises(ConfigError, match=r"accessible by group or others \(mode 0644\)"):
        load_keyring(settings)


def test_a_missing_key_file_is_a_readable_error(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, codec_key_file=tmp_path / "nope")

    with pytest.raises(ConfigError, match=r"cannot read codec key file .*nope"):
        load_keyring(settings)


def test_new_keys_are_valid_and_distinct() -> None:
    first, second = new_key_line(), new_key_line("rotated-1")

    keyring = ring(first, second)

    assert keyring.current == first.partition(":")[0]
    assert "rotated-1" in keyring.keys


def test_adding_a_key_to_a_file_makes_it_current_and_keeps_the_old_ones(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    add_key_to_file(path, "old")

    new_id = add_key_to_file(path)

    keyring = read_key_file(path)
    assert keyring.current == new_id
    assert list(keyring.keys) == [new_id, "old"]
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="already holds a key with id old"):
        add_key_to_file(path, "old")


def flightdeck(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDECK_")}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env={**env, "FLIGHTDECK_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_new_key_prints_a_key_or_adds_it_to_a_file(tmp_path: Path) -> None:
    printed = flightdeck("codec", "new-key", "--id", "k9", data_dir=tmp_path)
    path = tmp_path / "keys"
    added = flightdeck("codec", "new-key", "--id", "k10", "--file", str(path), data_dir=tmp_path)
    again = flightdeck("codec", "new-key", "--id", "k10", "--file", str(path), data_dir=tmp_path)

    assert printed.returncode == 0, printed.stderr
    assert ring(printed.stdout.strip()).current == "k9"
    assert added.returncode == 0, added.stderr
    assert "added key k10" in added.stdout
    assert read_key_file(path).current == "k10"
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"flightdeck: error: codec key file {path} already holds a key with id k10"
    ]


def test_bad_cors_origin_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"FLIGHTDECK_CODEC_CORS_ORIGINS: 'ui\.example' is not"):
        load_settings(data_dir=tmp_path, codec_cors_origins="https://ok.example,ui.example")


def test_embedded_ui_is_given_the_capability_url_when_keys_are_set(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, codec_keys=K1, api_port=8799, api_token="t" * 20)
    temporal = TemporalSettings(cli_path=None)

    endpoint = ui_codec_endpoint(settings)
    server = embedded_server(settings, temporal, ui_port=9999)
    command = server._command("temporal", 7233, 9999, 7243)
    headless = embedded_server(settings, temporal, headless=True)

    assert endpoint == f"http://127.0.0.1:8799/codec/{codec_capability('t' * 20)}"
    assert command[command.index("--ui-codec-endpoint") + 1] == endpoint
    assert headless.ui_codec_endpoint is None
    assert "--ui-codec-endpoint" not in headless._command("temporal", 7233, None, 7243)


def test_embedded_ui_has_no_codec_endpoint_without_keys_or_a_known_port(tmp_path: Path) -> None:
    off = load_settings(data_dir=tmp_path, api_token="t" * 20)
    any_port = load_settings(data_dir=tmp_path, codec_keys=K1, api_port=0, api_token="t" * 20)
    remote = load_settings(data_dir=tmp_path, codec_keys=K1, api_host="10.1.2.3")

    assert ui_codec_endpoint(off) is None
    assert ui_codec_endpoint(any_port) is None
    assert ui_codec_endpoint(remote) is None


def test_dev_server_command_without_an_endpoint_is_unchanged(tmp_path: Path) -> None:
    server = EmbeddedTemporalServer(
        state_dir=tmp_path, db_path=tmp_path / "db", log_path=tmp_path / "log"
    )

    assert "--ui-codec-endpoint" not in server._command("temporal", 7233, 9999, 7243)
