"""The API binds loopback by default; beyond loopback it needs TLS or an explicit --insecure
(with a warning). With --tls-cert/--tls-key it serves HTTPS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import re
import ssl
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.testing import WorkflowEnvironment

from backend.config import ConfigError, Settings, is_loopback
from tests.e2e.processes import API_READY, flightdeck_env, run_cli


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.1", "::", "example.com"))


def test_exposure_rules(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).check_exposure() is None
    with pytest.raises(ConfigError, match=re.escape("plain HTTP on 0.0.0.0")):
        Settings(data_dir=tmp_path, api_host="0.0.0.0").check_exposure()
    warning = Settings(data_dir=tmp_path, api_host="0.0.0.0", api_insecure=True).check_exposure()
    assert warning is not None and "unencrypted" in warning
    cert, key = self_signed(tmp_path)
    tls = Settings(data_dir=tmp_path, api_host="0.0.0.0", api_tls_cert=cert, api_tls_key=key)
    assert tls.check_exposure() is None
    with pytest.raises(ConfigError, match="both --tls-cert and --tls-key"):
        Settings(data_dir=tmp_path, api_tls_cert=cert).check_exposure()


async def test_a_public_bind_without_tls_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    env = {"FLIGHTDECK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    code, _out, err = await run_cli("api", "--host", "0.0.0.0", env=env, timeout=30)
    assert code == 2
    assert err.strip().splitlines() == [
        "flightdeck: error: the API would serve plain HTTP on 0.0.0.0: give --tls-cert and"
        " --tls-key, or --insecure to accept that tokens cross the network in clear"
    ]


async def test_the_api_serves_https_with_a_certificate(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    data_dir = tmp_path / "data"
    env = flightdeck_env(dev_env, data_dir, f"tls-{uuid.uuid4().hex[:8]}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend.cli",
        "api",
        "--port",
        "0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith(API_READY + "https://127.0.0.1:"), line
        url = line[len(API_READY) :].strip()
        context = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=url, verify=context, timeout=10) as client:
            health = await client.get("/healthz")
            assert health.status_code == 200
        with pytest.raises(httpx.ConnectError):  # an unknown CA is refused
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                await client.get("/healthz")
    finally:
        proc.kill()
        await proc.wait()
