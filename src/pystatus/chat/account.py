"""A Status account on disk: created from a new recovery phrase or restored from one, locked
behind a password in ``<directory>/keystore.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pystatus.chat import keystore
from pystatus.chat.errors import AccountError, KeystoreError
from pystatus.chat.keys import AccountKeys, new_mnemonic, seed_from_mnemonic
from pystatus.redaction import register_secret

KEYSTORE_FILE = "keystore.json"
MIN_PASSWORD_LENGTH = 6  # the Status app's own minimum


@dataclass(frozen=True, slots=True)
class Account:
    directory: Path
    keys: AccountKeys

    @property
    def chat_key(self) -> str:
        return self.keys.chat_key_text

    @property
    def wallet_address(self) -> str:
        return self.keys.wallet_address

    @classmethod
    def create(
        cls, directory: Path, password: str, *, params: keystore.ScryptParams | None = None
    ) -> tuple[Account, str]:
        """A new account and its recovery phrase (shown to the user once, stored nowhere)."""
        phrase = new_mnemonic()
        return cls.restore(directory, phrase, password, params=params), phrase

    @classmethod
    def restore(
        cls,
        directory: Path,
        phrase: str,
        password: str,
        *,
        params: keystore.ScryptParams | None = None,
    ) -> Account:
        register_secret(phrase)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        path = directory / KEYSTORE_FILE
        if path.exists():
            raise AccountError(f"{path} already holds an account")
        seed = seed_from_mnemonic(phrase)
        keys = AccountKeys.from_seed(seed)
        _register(keys)
        public = {"chatKey": keys.chat_key_text, "address": keys.wallet_address}
        keystore.write(path, keystore.encrypt(seed, password, public=public, params=params))
        return cls(directory, keys)

    @classmethod
    def unlock(cls, directory: Path, password: str) -> Account:
        seed = keystore.decrypt(keystore.read(directory / KEYSTORE_FILE), password)
        keys = AccountKeys.from_seed(seed)
        _register(keys)
        return cls(directory, keys)

    @staticmethod
    def describe(directory: Path) -> dict[str, str]:
        """The public chat key and wallet address, read without the password."""
        public = keystore.read(directory / KEYSTORE_FILE).get("pystatus")
        if not isinstance(public, dict):
            raise KeystoreError("the keystore names no public keys")
        return {str(k): str(v) for k, v in public.items()}


def _register(keys: AccountKeys) -> None:
    for secret in (keys.wallet, keys.chat, keys.database):
        register_secret(secret)
