"""Accounts: BIP39/BIP32 derivation on published vectors, the keystore, and the log redactor."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import coincurve
import pytest

from pystatus.chat import keystore
from pystatus.chat.account import Account
from pystatus.chat.errors import (
    AccountError,
    InvalidChatKey,
    InvalidMnemonic,
    KeystoreError,
    WrongPassword,
)
from pystatus.chat.keys import (
    AccountKeys,
    chat_key_text,
    public_key_from_chat_key_text,
    seed_from_mnemonic,
    wallet_address,
)
from pystatus.redaction import REDACTED, SecretRedactor

# The BIP39 test phrase every wallet documents.
PHRASE = "abandon " * 11 + "about"
FAST = keystore.ScryptParams(n=1 << 10)


def test_derivation_matches_published_ethereum_vectors() -> None:
    keys = AccountKeys.from_seed(seed_from_mnemonic(PHRASE))
    # m/44'/60'/0'/0/0 of this phrase, as MetaMask, Trezor and Ledger derive it.
    assert keys.wallet.hex() == "1ab42cc412b618bdea3a599e3c9bae199ebf030895b039e9db1e30dafb12b727"
    assert keys.wallet_address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert len({keys.wallet, keys.chat, keys.database}) == 3, "three unrelated keys"
    assert keys.chat_key_text.startswith("zQ3")
    assert public_key_from_chat_key_text(keys.chat_key_text) == keys.chat_public_key
    assert keys.chat.hex() not in repr(keys) and keys.wallet.hex() not in repr(keys)


def test_chat_key_matches_status_own_vector() -> None:
    # status-im/nim-status test/nim/bip32.nim: Status's wallet and chat keys of one phrase.
    phrase = (
        "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich "
        "alcohol speed nation flash devote level hobby quick inner drive ghost inside"
    )
    keys = AccountKeys.from_seed(seed_from_mnemonic(phrase))
    assert keys.wallet.hex() == "ff1e68eb7bf2f48651c47ef0177eb815857322257c5894bb4cfd1176c9989314"
    assert keys.chat.hex() == "38ac4da490b5c48a06d0a2fe7900c56b6639b88f6f71303590f28047411981c2"
    assert keys.chat_public_key.hex() == (
        "04ac5a45f2a90052cee10b22b74832f2deb814d58e35aa3f01a249160615a238ae"
        "f3a34ba86e1817fc8c5a6e93e3c5f159f6c46e922c85d47bafc4b78e07718279"
    )


def test_eip55_and_chat_key_text() -> None:
    # EIP-55's own examples are checksums of addresses; go through a known key instead.
    key = coincurve.PrivateKey(
        bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
    )
    assert wallet_address(key.public_key.format()) == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
    text = chat_key_text(key.public_key.format())
    assert text.startswith("zQ3") and len(text) in (48, 49)
    with pytest.raises(InvalidChatKey):
        public_key_from_chat_key_text("0x" + text)
    with pytest.raises(InvalidChatKey):
        public_key_from_chat_key_text("z" + "1" * 47)


@pytest.mark.parametrize(
    "phrase",
    ["abandon " * 12, "abandon " * 11 + "zoo", "not a phrase", PHRASE + " about"],
)
def test_invalid_phrases_are_refused_without_echoing_them(phrase: str) -> None:
    with pytest.raises(InvalidMnemonic) as refused:
        seed_from_mnemonic(phrase)
    assert "abandon" not in str(refused.value)


def test_phrases_are_normalized() -> None:
    assert seed_from_mnemonic(PHRASE.upper().replace(" ", "   ")) == seed_from_mnemonic(PHRASE)


def test_create_unlock_restore(tmp_path: Path) -> None:
    account, phrase = Account.create(tmp_path / "a", "correct horse", params=FAST)
    assert len(phrase.split()) == 12
    unlocked = Account.unlock(tmp_path / "a", "correct horse")
    assert unlocked.keys == account.keys
    restored = Account.restore(tmp_path / "b", phrase, "another pass", params=FAST)
    assert restored.keys == account.keys
    assert Account.describe(tmp_path / "a") == {
        "chatKey": account.chat_key,
        "address": account.wallet_address,
    }
    document = (tmp_path / "a" / "keystore.json").read_text()
    for secret in (account.keys.chat.hex(), account.keys.wallet.hex(), phrase.split()[0] + " "):
        assert secret not in document
    assert (tmp_path / "a" / "keystore.json").stat().st_mode & 0o077 == 0
    with pytest.raises(WrongPassword):
        Account.unlock(tmp_path / "a", "wrong horse")
    with pytest.raises(AccountError):
        Account.restore(tmp_path / "a", phrase, "correct horse", params=FAST)
    with pytest.raises(AccountError):
        Account.create(tmp_path / "c", "short", params=FAST)


def test_altered_or_foreign_keystores_are_typed_errors(tmp_path: Path) -> None:
    Account.create(tmp_path, "correct horse", params=FAST)
    path = tmp_path / "keystore.json"
    document = json.loads(path.read_text())
    ciphertext = bytearray.fromhex(document["crypto"]["ciphertext"])
    ciphertext[0] ^= 0x01
    document["crypto"]["ciphertext"] = ciphertext.hex()
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassword):
        Account.unlock(tmp_path, "correct horse")
    for broken in ("[]", "{", json.dumps({"version": 3, "crypto": {"kdf": "pbkdf2"}})):
        path.write_text(broken)
        with pytest.raises(KeystoreError):
            Account.unlock(tmp_path, "correct horse")
    with pytest.raises(KeystoreError):
        Account.unlock(tmp_path / "missing", "correct horse")


def test_the_redactor_stops_every_attempt_to_log_secrets() -> None:
    keys = AccountKeys.from_seed(seed_from_mnemonic(PHRASE))
    redactor = SecretRedactor()
    redactor.register(keys.chat)
    redactor.register(keys.wallet)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    logger = logging.getLogger("pystatus.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.info("chat key %s", keys.chat.hex())
        logger.info("wallet 0x%s upper %s", keys.wallet.hex(), keys.wallet.hex().upper())
        logger.warning("restoring from %r", PHRASE)  # never registered: caught by its shape
        logger.warning("phrase, commas: %s", ", ".join(PHRASE.split()))
        try:
            raise ValueError(f"bad key {keys.chat.hex()}")
        except ValueError:
            logger.exception("failed")
        logger.info("an ordinary line about the network and above all else stays as it is")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert keys.chat.hex() not in output
    assert keys.wallet.hex() not in output and keys.wallet.hex().upper() not in output
    assert "abandon abandon" not in output and "abandon, abandon" not in output
    assert output.count(REDACTED) >= 6
    assert "an ordinary line about the network and above all else stays as it is" in output
