"""The store's sans-IO rules: bytes and a time in, a verdict out; no sockets, no clock reads,
no metrics touched (the server counts from the verdict's reason)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from pystatus.waku.store_codec import StoreEntry, StoreQuery
from pystatus.waku.store_rules import Admitted, Refused, StoreRules, admit, answer

PEER = "peer-a"
TOPIC = "/waku/2/rs/0/0"


def _errors() -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "waku_protocol_errors":
            total += sum(s.value for s in metric.samples if s.labels.get("protocol") == "store")
    return total


def test_verdicts_from_bytes_and_time_alone() -> None:
    before = _errors()
    rules = StoreRules(peer_rate=1.0, peer_burst=2)
    pubsub_only = StoreQuery(pubsub_topic=TOPIC)
    content_only = StoreQuery(content_topics=("/app/1/a/proto",))
    assert rules.receive(PEER, pubsub_only.to_bytes(), 100.0) == Admitted(pubsub_only)
    assert rules.receive(PEER, content_only.to_bytes(), 100.0) == Admitted(content_only)
    flooded = rules.receive(PEER, pubsub_only.to_bytes(), 100.0)
    assert isinstance(flooded, Refused) and flooded.reason == "rate_limited"
    assert flooded.response.status_code == 429
    assert flooded.response.request_id == pubsub_only.request_id
    # A second later the bucket holds one more request; another peer has its own bucket.
    assert isinstance(rules.receive(PEER, pubsub_only.to_bytes(), 101.0), Admitted)
    assert isinstance(rules.receive("peer-b", pubsub_only.to_bytes(), 100.0), Admitted)
    malformed = rules.receive("peer-c", b"\xff\xff\xff", 100.0)
    assert isinstance(malformed, Refused) and malformed.reason == "malformed"
    assert malformed.response.status_code == 400
    assert _errors() == before


def test_what_is_refused_and_what_is_answered() -> None:
    mixed = StoreQuery(message_hashes=(b"\x01" * 32,), content_topics=("/a/1/b/c",))
    refused = admit(mixed)
    assert isinstance(refused, Refused) and refused.reason == "bad_request"
    assert refused.response.status_code == 400
    for fine in (
        StoreQuery(),
        StoreQuery(time_start=5, time_end=1),  # matches nothing; nwaku answers it
        StoreQuery(message_hashes=(b"\x01" * 32,), pubsub_topic=TOPIC),  # as js-waku sends
    ):
        assert admit(fine) == Admitted(fine)
    entry = StoreEntry(b"\x02" * 32, None, TOPIC)
    hashes_only = answer(StoreQuery(include_data=False), [entry], None)
    assert hashes_only.status_code == 200 and hashes_only.entries == (StoreEntry(entry.hash),)
