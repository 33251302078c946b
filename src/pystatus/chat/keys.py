"""Account keys as Status derives them: BIP39 phrase -> BIP32 seed -> three separate keys.

The wallet key (m/44'/60'/0'/0/0) never signs chat traffic; the chat identity key is EIP-1581's
m/43'/60'/1581'/0'/0 and the local database key m/43'/60'/1581'/1'/0, as status-go derives
them. A chat key is shown the way Status shows it: the compressed public key as a multibase
base58btc multicodec string (``zQ3...``); a wallet is shown as its EIP-55 address.
"""

from __future__ import annotations

from dataclasses import dataclass

import base58
import coincurve
from bip32 import BIP32
from mnemonic import Mnemonic

from pystatus.chat.errors import InvalidChatKey, InvalidMnemonic
from pystatus.waku.enr import keccak256

WALLET_PATH = "m/44'/60'/0'/0/0"
CHAT_PATH = "m/43'/60'/1581'/0'/0"
DATABASE_PATH = "m/43'/60'/1581'/1'/0"
MNEMONIC_STRENGTH = 128  # 12 words, as the Status app creates them
_SECP256K1_PUB_MULTICODEC = b"\xe7\x01"  # varint of 0xe7
_WORDS = Mnemonic("english")


def new_mnemonic() -> str:
    return _WORDS.generate(MNEMONIC_STRENGTH)


def normalize_mnemonic(phrase: str) -> str:
    """One space between lower-case words; raises :class:`InvalidMnemonic` (naming no word)."""
    words = phrase.lower().split()
    normalized = " ".join(words)
    if len(words) not in (12, 15, 18, 21, 24) or not _WORDS.check(normalized):
        # The phrase is a secret: the error says what is wrong, never what was typed.
        raise InvalidMnemonic(
            f"not a valid recovery phrase ({len(words)} words; 12 to 24 words with a checksum)"
        )
    return normalized


def seed_from_mnemonic(phrase: str) -> bytes:
    return Mnemonic.to_seed(normalize_mnemonic(phrase), passphrase="")


def chat_key_text(public_key: bytes) -> str:
    """Status's compressed-key text for a secp256k1 public key: ``zQ3...``."""
    compressed = coincurve.PublicKey(public_key).format(compressed=True)
    return "z" + base58.b58encode(_SECP256K1_PUB_MULTICODEC + compressed).decode()


def public_key_from_chat_key_text(text: str) -> bytes:
    """The uncompressed public key a ``zQ3...`` string names."""
    if not text.startswith("z"):
        raise InvalidChatKey("a chat key starts with z (base58btc)")
    try:
        raw = base58.b58decode(text[1:])
        if not raw.startswith(_SECP256K1_PUB_MULTICODEC) or len(raw) != 35:
            raise ValueError("not a multicodec secp256k1 public key")
        return bytes(coincurve.PublicKey(raw[2:]).format(compressed=False))
    except ValueError as exc:
        raise InvalidChatKey(f"not a chat key: {exc}") from None


def wallet_address(public_key: bytes) -> str:
    """The EIP-55 checksummed Ethereum address of a public key."""
    uncompressed = coincurve.PublicKey(public_key).format(compressed=False)
    address = keccak256(uncompressed[1:])[-20:].hex()
    digest = keccak256(address.encode()).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(address)
    )


@dataclass(frozen=True, slots=True, repr=False)
class AccountKeys:
    """The three private keys of an account. Never printed: ``repr`` shows public parts only."""

    wallet: bytes
    chat: bytes
    database: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> AccountKeys:
        root = BIP32.from_seed(seed)
        return cls(
            wallet=root.get_privkey_from_path(WALLET_PATH),
            chat=root.get_privkey_from_path(CHAT_PATH),
            database=root.get_privkey_from_path(DATABASE_PATH),
        )

    @property
    def chat_public_key(self) -> bytes:
        return coincurve.PrivateKey(self.chat).public_key.format(compressed=False)

    @property
    def chat_key_text(self) -> str:
        return chat_key_text(self.chat_public_key)

    @property
    def wallet_address(self) -> str:
        return wallet_address(coincurve.PrivateKey(self.wallet).public_key.format())

    def __repr__(self) -> str:
        return f"AccountKeys(chat={self.chat_key_text}, wallet={self.wallet_address})"
