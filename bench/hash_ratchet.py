"""Hash ratchet against Double Ratchet (issue 17, item 5): the encryption layer's cost of one
group message, pystatus beside status-go v1.1.0's own code.

Per message: sender encrypt + receiver decrypt, in microseconds (``time.perf_counter`` in this
process; status-go's loop timed by Go's clock inside tests/interop/statusgo_hr, its SQLite
persistence included, as the app runs it), and the serialised ``ProtocolMessage`` bytes
(bundles left out: they ride along on 1:1 messages whatever the scheme). One direction only,
as a channel's traffic mostly is. For a group of N the hash ratchet sends one message; the
Double Ratchet (a private group chat) sends N, one per member session: the table gives both.

Run: ``nice -n 10 python -m bench.hash_ratchet [count] [payload bytes] [members] [go count]``
(1000, 200, 50 and 200 by default). Uses the status-go side when `make statusgo` built it;
its count is smaller because status-go's receiver cost grows with the key's message number
(DecryptWithHR walks from the key and stores every step when it has no row for that number),
so a long run measures mostly SQLite.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

import coincurve

from pystatus.chat.encryption import EncryptionService
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.proto import encryption_pb2 as pb

GROUP = bytes.fromhex("02" + "42" * 32)


@dataclass(frozen=True, slots=True)
class Row:
    encrypt_us: float
    """Sender CPU per message, serialisation included."""
    decrypt_us: float
    """Receiver CPU per message, parsing included."""
    message_bytes: int


def python_hash_ratchet(count: int, size: int) -> Row:
    sender, receiver = HashRatchet("a"), HashRatchet("b")
    receiver.add_keys([sender.new_key(GROUP, 1_800_000_000_000)])
    payload = bytes(size)
    raws = []
    start = time.perf_counter()
    for _ in range(count):
        raws.append(sender.encrypt_for_group(GROUP, payload))
    middle = time.perf_counter()
    for raw in raws:
        if receiver.decrypt(raw).plaintext != payload:
            raise AssertionError("hash ratchet bench: wrong plaintext")
    end = time.perf_counter()
    return Row((middle - start) / count * 1e6, (end - middle) / count * 1e6, len(raws[-1]))


def python_double_ratchet(count: int, size: int) -> Row:
    a = EncryptionService(coincurve.PrivateKey().secret, "a")
    b = EncryptionService(coincurve.PrivateKey().secret, "b")
    a.add_bundle(b.own_bundle())
    b.add_bundle(a.own_bundle())
    payload = bytes(size)
    raws = []
    start = time.perf_counter()
    for _ in range(count):
        message = a.encrypt(b.public_key, payload)
        del message.bundles[:]  # sizes compare the encryption, not the attached bundle
        raws.append(message.SerializeToString())
    middle = time.perf_counter()
    for raw in raws:
        if b.decrypt(a.public_key, pb.ProtocolMessage.FromString(raw)) != payload:
            raise AssertionError("double ratchet bench: wrong plaintext")
    end = time.perf_counter()
    return Row((middle - start) / count * 1e6, (end - middle) / count * 1e6, len(raws[-1]))


async def statusgo(count: int, size: int) -> tuple[Row, Row, list[float]] | None:
    """status-go's (hash ratchet, Double Ratchet) rows and its hash ratchet decrypt time of
    each message in µs, or None when it is not built."""
    from tests.interop.test_statusgo_hash_ratchet import BINARY, StatusGoHR

    if not BINARY.is_file():
        return None
    async with StatusGoHR(BINARY) as go:
        r = await go.request("bench", timeout=600.0, count=count, size=size)
    return (
        Row(float(r["hr_encrypt_us"]), float(r["hr_decrypt_us"]), int(r["hr_message_bytes"])),
        Row(float(r["dr_encrypt_us"]), float(r["dr_decrypt_us"]), int(r["dr_message_bytes"])),
        [float(x) for x in r["hr_decrypt_us_each"]],
    )


def report(count: int = 1000, size: int = 200, members: int = 50, go_count: int = 200) -> None:
    """Print the table: ``count`` messages of ``size`` payload bytes through pystatus's hash
    ratchet and Double Ratchet, ``go_count`` through status-go's (fewer: its receiver slows
    down with every message), and the cost of one message to a group of ``members``."""
    rows: list[tuple[str, Row, int]] = [
        ("pystatus hash ratchet", python_hash_ratchet(count, size), 1),
        ("pystatus double ratchet", python_double_ratchet(count, size), members),
    ]
    go = asyncio.run(statusgo(go_count, size))
    if go is not None:
        rows += [("status-go hash ratchet", go[0], 1), ("status-go double ratchet", go[1], members)]
    print(f"{count} messages of {size} payload bytes, one direction; a group of {members}")
    print(
        f"{'':26}{'enc µs':>8}{'dec µs':>8}{'bytes':>7}{'overhead':>9}"
        f"{'sender µs/group msg':>21}{'bytes/group msg':>17}"
    )
    for name, row, copies in rows:
        print(
            f"{name:26}{row.encrypt_us:8.1f}{row.decrypt_us:8.1f}{row.message_bytes:7d}"
            f"{row.message_bytes - size:9d}{row.encrypt_us * copies:21.0f}"
            f"{row.message_bytes * copies:17d}"
        )
    if go is None:
        print("(status-go side skipped: run `make statusgo`)")
    else:
        each = go[2]
        tenth = max(1, len(each) // 10)
        print(
            f"status-go over {go_count} messages (its receiver walks the chain from the key for"
            f" each new seq_no): hash ratchet decrypt {statistics.mean(each[:tenth]):.0f} µs for"
            f" the first {tenth}, {statistics.mean(each[-tenth:]):.0f} µs for the last {tenth}"
        )


def main() -> int:
    args = [int(a) for a in sys.argv[1:5]]
    report(*args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
