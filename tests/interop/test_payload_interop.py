"""RFC 26 payloads both ways with npm's @waku/message-encryption (its encoders and decoders)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import coincurve
import pytest

from pystatus.waku.payload import (
    decrypt_asymmetric,
    decrypt_symmetric,
    encrypt_asymmetric,
    encrypt_symmetric,
)
from tests.interop.harness import INTEROP_DIR, node_command

pytestmark = pytest.mark.interop

KEY = bytes(range(32))
SIGNER = coincurve.PrivateKey()
RECIPIENT = coincurve.PrivateKey()
PAYLOADS = [b"hello", b"x" * 255, bytes(range(256)) * 40]


async def _js(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        *node_command(),
        str(INTEROP_DIR / "payload_crypto.mjs"),
        cwd=INTEROP_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate(json.dumps({"ops": ops}).encode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    results: list[dict[str, Any]] = json.loads(stdout)["results"]
    return results


@pytest.mark.parametrize("signed", [False, True])
async def test_js_decrypts_what_we_encrypt(signed: bool) -> None:
    signer = SIGNER.secret if signed else None
    ops = []
    for payload in PAYLOADS:
        ops.append(
            {
                "op": "decrypt",
                "kind": "symmetric",
                "keyHex": KEY.hex(),
                "payloadHex": encrypt_symmetric(payload, KEY, signer=signer).hex(),
            }
        )
        ops.append(
            {
                "op": "decrypt",
                "kind": "asymmetric",
                "keyHex": RECIPIENT.secret.hex(),
                "payloadHex": encrypt_asymmetric(
                    payload, RECIPIENT.public_key.format(), signer=signer
                ).hex(),
            }
        )
    results = await _js(ops)
    expected_signer = SIGNER.public_key.format(compressed=False).hex() if signed else None
    for index, result in enumerate(results):
        assert result["payloadHex"] == PAYLOADS[index // 2].hex()
        assert result["signerHex"] == expected_signer


@pytest.mark.parametrize("signed", [False, True])
async def test_we_decrypt_what_js_encrypts(signed: bool) -> None:
    ops: list[dict[str, Any]] = []
    for payload in PAYLOADS:
        base = {"op": "encrypt", "payloadHex": payload.hex()}
        if signed:
            base["sigPrivKeyHex"] = SIGNER.secret.hex()
        ops.append({**base, "kind": "symmetric", "keyHex": KEY.hex()})
        recipient = RECIPIENT.public_key.format(compressed=False).hex()
        ops.append({**base, "kind": "asymmetric", "keyHex": recipient})
    results = await _js(ops)
    expected_signer = SIGNER.public_key.format(compressed=False) if signed else None
    for index, result in enumerate(results):
        assert result["version"] == 1
        sealed = bytes.fromhex(result["payloadHex"])
        opened = (
            decrypt_symmetric(sealed, KEY)
            if index % 2 == 0
            else decrypt_asymmetric(sealed, RECIPIENT.secret)
        )
        assert opened.payload == PAYLOADS[index // 2]
        assert opened.signer == expected_signer
