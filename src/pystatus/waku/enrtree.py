"""Node lists in DNS: the ENR trees of EIP-1459 (sans-IO).

A tree lives in TXT records under one domain:

- the root, at the domain itself: ``enrtree-root:v1 e=<hash> l=<hash> seq=<n> sig=<sig>``,
  signed by the tree's key (secp256k1 over keccak256 of the text before `` sig=``; the
  signature is 65 bytes ``r || s || v`` in unpadded base64url);
- branches, ``enrtree-branch:<hash>,<hash>,...``, and leaves: ``enr:...`` records under the
  ``e=`` subtree, ``enrtree://<key>@<domain>`` links to other trees under the ``l=`` subtree;
- each at ``<hash>.<domain>``, where ``<hash>`` is the unpadded base32 of the first 16 bytes of
  keccak256 of the entry's text (at least 12 bytes are needed to check it).

Only the root needs the signature; every other entry is tied to it by its hash. Trees are
read by :class:`TreeWalk` (names to look up out, TXT answers in) and written by
:func:`build_tree`. Branches hold at most 13 children so each answer fits a 512-byte UDP
packet, as go-ethereum's ``p2p/dnsdisc`` (which go-waku, status-go and nwaku's trees use).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import coincurve

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey, Secp256k1PublicKey
from pystatus.p2p.errors import P2PError
from pystatus.waku.enr import Enr, keccak256
from pystatus.waku.errors import InvalidEnr, RemoteWakuError

ROOT_PREFIX = "enrtree-root:v1"
LINK_PREFIX = "enrtree://"
BRANCH_PREFIX = "enrtree-branch:"
ENR_PREFIX = "enr:"
HASH_SIZE = 16
"""Bytes of keccak256 a subdomain carries."""
MIN_HASH_SIZE = 12
"""Fewer bytes than this cannot tie an entry to its root safely."""
MAX_CHILDREN = 13
"""Hashes per branch: 13 of 26 characters (and commas) keep an answer under 512 bytes."""
MAX_TEXT = 1024
"""No valid entry is longer: an ENR is at most 300 bytes (about 400 characters of text)."""
DEFAULT_MAX_ENTRIES = 2000
"""Entries one walk reads before it gives up on a tree as too large."""

_CURVE_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_ROOT = re.compile(
    re.escape(ROOT_PREFIX) + r" e=([A-Z2-7]+) l=([A-Z2-7]+) seq=(\d{1,19}) sig=([A-Za-z0-9_-]+)"
)


class InvalidEnrTree(RemoteWakuError):
    """A tree's entry does not parse, its hash or signature does not match, or the tree
    breaks a rule of EIP-1459. ``reason`` is short and machine-readable (a metric label):
    ``syntax``, ``signature``, ``hash``, ``misplaced``, ``too_large``, ``stale``, ``missing``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _b32decode(text: str) -> bytes:
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidEnrTree("syntax", f"{text[:40]!r} is not base32") from None


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidEnrTree("syntax", "not base64url") from None


def entry_hash(text: str) -> str:
    """The subdomain an entry with this text lives at (16 bytes of keccak256, base32)."""
    return _b32encode(keccak256(text.encode())[:HASH_SIZE])


def _check_hash(name: str) -> bytes:
    """The bytes a subdomain hash stands for; refused when too short or too long to be one."""
    if not 0 < len(name) <= 52:
        raise InvalidEnrTree("syntax", "a subdomain hash is 20 to 52 base32 characters")
    raw = _b32decode(name)
    if not MIN_HASH_SIZE <= len(raw) <= 32:
        raise InvalidEnrTree("syntax", f"a subdomain hash of {len(raw)} bytes")
    return raw


@dataclass(frozen=True, slots=True)
class Root:
    enr_root: str
    """Hash of the top of the subtree of node records (``e=``)."""
    link_root: str
    """Hash of the top of the subtree of links to other trees (``l=``)."""
    seq: int
    """Raised by the publisher whenever the tree changes."""
    signature: bytes = b""
    """65 bytes: ``r || s || v``."""

    def signed_text(self) -> str:
        return f"{ROOT_PREFIX} e={self.enr_root} l={self.link_root} seq={self.seq}"

    def to_text(self) -> str:
        sig = base64.urlsafe_b64encode(self.signature).decode().rstrip("=")
        return f"{self.signed_text()} sig={sig}"

    @classmethod
    def from_text(cls, text: str) -> Root:
        """Raises :class:`InvalidEnrTree` (``syntax``)."""
        match = _ROOT.fullmatch(text)
        if match is None:
            raise InvalidEnrTree("syntax", "not an enrtree-root:v1 record")
        enr_root, link_root, seq, sig = match.groups()
        _check_hash(enr_root)
        _check_hash(link_root)
        signature = _b64url_decode(sig)
        if len(signature) != 65:
            raise InvalidEnrTree("syntax", "a root signature is 65 bytes")
        return cls(enr_root, link_root, int(seq), signature)

    def signed(self, key: Secp256k1PrivateKey) -> Root:
        digest = keccak256(self.signed_text().encode())
        signature = key.sign_recoverable(digest)
        return Root(self.enr_root, self.link_root, self.seq, signature)

    def verify(self, public_key: Secp256k1PublicKey) -> None:
        """Raises :class:`InvalidEnrTree` (``signature``) unless the tree's key signed this.

        As go-ethereum checks it: ``r || s`` with a low ``s``; the recovery byte is ignored.
        """
        r_s = self.signature[:64]
        if int.from_bytes(r_s[32:], "big") > _CURVE_HALF_ORDER:
            raise InvalidEnrTree("signature", "root signature has a high s")
        digest = keccak256(self.signed_text().encode())
        for recovery in (0, 1):
            try:
                recovered = coincurve.PublicKey.from_signature_and_message(
                    r_s + bytes([recovery]), digest, hasher=None
                )
            except (ValueError, TypeError):
                continue
            if recovered.format(compressed=True) == public_key.to_bytes():
                return
        raise InvalidEnrTree("signature", "root not signed by the tree's key")


@dataclass(frozen=True, slots=True)
class Link:
    """``enrtree://<base32 compressed key>@<domain>``: a tree and the key that signs it."""

    public_key: Secp256k1PublicKey = field(compare=False)
    domain: str
    key_text: str

    @classmethod
    def from_url(cls, url: str) -> Link:
        """Raises :class:`InvalidEnrTree` (``syntax``) for anything but an enrtree URL with a
        valid key and a domain name."""
        if not url.startswith(LINK_PREFIX):
            raise InvalidEnrTree("syntax", "a tree's URL starts with 'enrtree://'")
        key_text, at, domain = url[len(LINK_PREFIX) :].partition("@")
        if not at or not key_text:
            raise InvalidEnrTree("syntax", "a tree's URL is enrtree://<key>@<domain>")
        if not _is_domain(domain):
            raise InvalidEnrTree("syntax", f"{domain[:80]!r} is not a domain name")
        try:
            key = Secp256k1PublicKey.from_bytes(_b32decode(key_text))
        except P2PError:
            raise InvalidEnrTree("syntax", "the tree's key is no secp256k1 public key") from None
        return cls(key, domain.lower().rstrip("."), key_text)

    @classmethod
    def for_key(cls, key: Secp256k1PublicKey, domain: str) -> Link:
        return cls(key, domain.lower().rstrip("."), _b32encode(key.to_bytes()))

    def to_url(self) -> str:
        return f"{LINK_PREFIX}{self.key_text}@{self.domain}"

    def __str__(self) -> str:
        return self.to_url()


@dataclass(frozen=True, slots=True)
class Branch:
    children: tuple[str, ...]

    def to_text(self) -> str:
        return BRANCH_PREFIX + ",".join(self.children)

    @classmethod
    def from_text(cls, text: str) -> Branch:
        body = text[len(BRANCH_PREFIX) :]
        if not body:
            return cls(())  # an empty tree's root branch
        children = tuple(body.split(","))
        for child in children:
            _check_hash(child)
        return cls(children)


Entry = Branch | Link | Enr


def _is_domain(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return 0 < len(name) <= 253 and all(
        re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", label) for label in labels
    )


def parse_entry(text: str) -> Entry | None:
    """The entry a TXT record holds; ``None`` for a record of another kind (domains carry
    other TXT records too, and EIP-1459 says to skip them).

    Raises :class:`InvalidEnrTree` (``syntax``) for a malformed entry. A root is not an entry
    here: :meth:`Root.from_text` reads it.
    """
    if len(text) > MAX_TEXT:
        raise InvalidEnrTree("syntax", f"an entry of {len(text)} characters")
    if text.startswith(BRANCH_PREFIX):
        return Branch.from_text(text)
    if text.startswith(LINK_PREFIX):
        return Link.from_url(text)
    if text.startswith(ENR_PREFIX):
        try:
            return Enr.from_text(text)
        except InvalidEnr as exc:
            raise InvalidEnrTree("syntax", f"leaf: {exc}") from None
    return None


def _entry_text(entry: Entry) -> str:
    return entry.to_url() if isinstance(entry, Link) else entry.to_text()


class TreeWalk:
    """One reading of a tree (sans-IO): names to look up out, their TXT records in.

    Loop: :meth:`queries` gives DNS names not yet asked (the root's domain first, then
    ``<hash>.<domain>`` for each child found); feed each answer to :meth:`answer`, or
    :meth:`lookup_failed` when it did not come. :attr:`done` says when nothing is left.
    Results: :attr:`enrs` (leaves under ``e=``) and :attr:`links` (other trees, under ``l=``).

    A root that is missing, malformed, signed by another key, or older than ``last_seq`` fails
    the walk: :meth:`answer` raises :class:`InvalidEnrTree`. A bad entry below it (wrong hash,
    malformed, misplaced, or missing) is left out with its subtree and kept in :attr:`errors`.
    ``cache`` maps hashes to entries already checked, shared between walks so a new root reads
    only what changed; the caller bounds it. ``max_entries`` bounds one walk (``too_large``).
    """

    def __init__(
        self,
        link: Link,
        *,
        last_seq: int = -1,
        cache: dict[str, Entry] | None = None,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.link = link
        self.root: Root | None = None
        self.enrs: list[Enr] = []
        self.links: list[Link] = []
        self.errors: list[InvalidEnrTree] = []
        self._last_seq = last_seq
        self._cache: dict[str, Entry] = cache if cache is not None else {}
        self._max_entries = max_entries
        self._placed = 0
        self._queue: list[tuple[str, bool]] = []  # (hash, under e=) not yet asked
        self._asked: dict[str, tuple[str, bool]] = {}  # name -> (hash, under e=)
        self._seen: set[str] = set()
        self._root_asked = False
        self._failed = False

    @property
    def done(self) -> bool:
        if self._failed:
            return True
        return self._root_asked and self.root is not None and not self._queue and not self._asked

    def queries(self) -> list[str]:
        """Names to look up TXT records for, each handed out once."""
        if self._failed:
            return []
        if not self._root_asked:
            self._root_asked = True
            return [self.link.domain]
        names = []
        while self._queue:
            hash_, under_enrs = self._queue.pop()
            cached = self._cache.get(hash_)
            if cached is not None:
                self._place(cached, under_enrs)
                continue
            name = f"{hash_}.{self.link.domain}"
            self._asked[name] = (hash_, under_enrs)
            names.append(name)
        return names

    def answer(self, name: str, texts: Sequence[str]) -> None:
        """The TXT records found at ``name`` (each one's strings joined)."""
        if name == self.link.domain and self.root is None:
            self._answer_root(texts)
            return
        asked = self._asked.pop(name, None)
        if asked is None:
            return  # not ours, or asked twice
        hash_, under_enrs = asked
        try:
            entry = self._entry_at(hash_, texts)
        except InvalidEnrTree as exc:
            self.errors.append(exc)
            return
        self._cache[hash_] = entry
        self._place(entry, under_enrs)

    def lookup_failed(self, name: str, detail: str) -> None:
        """``name`` has no answer (no such name, no TXT record, the server failed)."""
        if name == self.link.domain and self.root is None:
            self._failed = True
            raise InvalidEnrTree("missing", f"no root at {name}: {detail}")
        if self._asked.pop(name, None) is not None:
            self.errors.append(InvalidEnrTree("missing", f"{name}: {detail}"))

    def _answer_root(self, texts: Sequence[str]) -> None:
        found = [text for text in texts if text.startswith(ROOT_PREFIX)]
        try:
            if not found:
                raise InvalidEnrTree("missing", f"no {ROOT_PREFIX} record at {self.link.domain}")
            root = Root.from_text(found[0])
            root.verify(self.link.public_key)
            if root.seq < self._last_seq:
                raise InvalidEnrTree(
                    "stale", f"root seq {root.seq} is older than {self._last_seq} seen before"
                )
        except InvalidEnrTree:
            self._failed = True
            raise
        self.root = root
        self._queue += [(root.link_root, False), (root.enr_root, True)]

    def _entry_at(self, hash_: str, texts: Sequence[str]) -> Entry:
        want = _check_hash(hash_)
        for text in texts:
            entry = parse_entry(text)
            if entry is None:
                continue
            if not keccak256(text.encode()).startswith(want):
                raise InvalidEnrTree("hash", f"entry at {hash_} does not hash to its name")
            return entry
        raise InvalidEnrTree("missing", f"no tree entry at {hash_}")

    def _place(self, entry: Entry, under_enrs: bool) -> None:
        self._placed += 1
        if self._placed > self._max_entries:
            if not any(e.reason == "too_large" for e in self.errors):
                self.errors.append(
                    InvalidEnrTree("too_large", f"more than {self._max_entries} entries")
                )
            self._queue.clear()
            self._asked.clear()
            return
        if isinstance(entry, Branch):
            for child in entry.children:
                if child not in self._seen:  # a cycle or a repeat: read once
                    self._seen.add(child)
                    self._queue.append((child, under_enrs))
        elif isinstance(entry, Enr) and under_enrs:
            self.enrs.append(entry)
        elif isinstance(entry, Link) and not under_enrs:
            self.links.append(entry)
        else:
            kind = "node record" if isinstance(entry, Enr) else "link"
            self.errors.append(InvalidEnrTree("misplaced", f"a {kind} in the wrong subtree"))


def _node_id(enr: Enr) -> bytes:
    return keccak256(enr.public_key.uncompressed()[1:])


def build_tree(
    key: Secp256k1PrivateKey,
    domain: str,
    enrs: Iterable[Enr],
    links: Iterable[Link] = (),
    seq: int = 1,
) -> tuple[Link, dict[str, str]]:
    """A signed tree of ``enrs`` and ``links`` for ``domain``: its URL, and its TXT records by
    full name (the root at ``domain``). Records are ordered by node id, as go-ethereum's
    ``dnsdisc.MakeTree`` orders them, so the same input gives the same tree."""
    link = Link.for_key(key.public_key, domain)
    records: dict[str, str] = {}

    def add(entry: Entry) -> str:
        text = _entry_text(entry)
        hash_ = entry_hash(text)
        records[f"{hash_}.{link.domain}"] = text
        return hash_

    def subtree(entries: list[Entry]) -> str:
        if len(entries) == 1:
            return add(entries[0])
        if len(entries) <= MAX_CHILDREN:
            return add(Branch(tuple(add(e) for e in entries)))
        groups = [entries[i : i + MAX_CHILDREN] for i in range(0, len(entries), MAX_CHILDREN)]
        return subtree([Branch(tuple(add(e) for e in group)) for group in groups])

    unique = {enr.peer_id: enr for enr in enrs}
    ordered: list[Entry] = [*sorted(unique.values(), key=_node_id)]
    linked: list[Entry] = sorted({ln.to_url(): ln for ln in links}.values(), key=str)
    root = Root(subtree(ordered), subtree(linked), seq).signed(key)
    records[link.domain] = root.to_text()
    return link, records
