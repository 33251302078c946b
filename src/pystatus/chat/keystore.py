"""An account's secret at rest: the Web3 Secret Storage (keystore v3) format, scrypt + AES-CTR.

The file holds the BIP32 seed, from which every key of the account is derived again, and, in
the clear, the public chat key and wallet address so an account can be listed without its
password. Writes are atomic: a crash leaves the old file or the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pystatus.chat.errors import KeystoreError, WrongPassword
from pystatus.waku.enr import keccak256


@dataclass(frozen=True, slots=True)
class ScryptParams:
    # geth's "standard" n = 2^18 costs over a second here, and log-in must take less; the
    # Status app uses geth's "light" setting (n = 4096, p = 6). 2^15 with p = 1 costs more
    # than that and about 0.15 s.
    n: int = 1 << 15
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return 128 * self.n * self.r * self.p + (1 << 20)


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=32,
    )


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    context = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return context.update(data) + context.finalize()


def encrypt(
    secret: bytes, password: str, *, public: dict[str, str], params: ScryptParams | None = None
) -> dict[str, Any]:
    params = params or ScryptParams()
    salt, iv = secrets.token_bytes(32), secrets.token_bytes(16)
    derived = _derive(password, salt, params)
    ciphertext = _aes_ctr(derived[:16], iv, secret)
    return {
        "version": 3,
        "id": str(uuid.uuid4()),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32,
                "n": params.n,
                "r": params.r,
                "p": params.p,
                "salt": salt.hex(),
            },
            "mac": keccak256(derived[16:32] + ciphertext).hex(),
        },
        "pystatus": public,
    }


def decrypt(document: dict[str, Any], password: str) -> bytes:
    try:
        crypto = document["crypto"]
        if document.get("version") != 3 or crypto["kdf"] != "scrypt":
            raise KeystoreError("only version 3 scrypt keystores are supported")
        if crypto["cipher"] != "aes-128-ctr":
            raise KeystoreError(f"unsupported keystore cipher {crypto['cipher']!r}")
        kdf = crypto["kdfparams"]
        params = ScryptParams(n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"]))
        salt = bytes.fromhex(kdf["salt"])
        iv = bytes.fromhex(crypto["cipherparams"]["iv"])
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        mac = bytes.fromhex(crypto["mac"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"malformed keystore: {type(exc).__name__}") from None
    if not (2 <= params.n <= 1 << 22 and params.n & (params.n - 1) == 0):
        raise KeystoreError("keystore scrypt n must be a power of two up to 2^22")
    derived = _derive(password, salt, params)
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), mac):
        raise WrongPassword("wrong password, or the keystore was altered")
    return _aes_ctr(derived[:16], iv, ciphertext)


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(document, file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"no account keystore at {path}") from None
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise KeystoreError(f"keystore {path} is not a JSON object")
    return document
