"""Delivery status rules on a virtual clock."""

from __future__ import annotations

from pystatus.chat.delivery import DeliveryStatus, DeliveryTracker, Envelope


def test_statuses_only_move_forward() -> None:
    tracker = DeliveryTracker(store_check_after=1, republish_after=3)
    tracker.track("m")
    assert tracker.published(Envelope(b"h", 0.0, ["m"]), relay_peers=0) == []
    assert tracker.status("m") == DeliveryStatus.PENDING, "no relay peer took it"
    assert tracker.published(Envelope(b"h2", 0.0, ["m"]), relay_peers=2) == ["m"]
    assert tracker.delivered("m")
    assert tracker.stored([b"h2"]) == [], "a late store answer does not move it back"
    assert tracker.status("m") == DeliveryStatus.DELIVERED
    assert not tracker.failed("m")


def test_store_checks_come_due_then_overdue_envelopes_are_handed_back() -> None:
    tracker = DeliveryTracker(store_check_after=1, republish_after=3)
    tracker.track("a")
    tracker.track("b")
    tracker.published(Envelope(b"A", 0.0, ["a"], contents="again a"), relay_peers=1)
    tracker.published(Envelope(b"B", 0.0, ["b"]), relay_peers=1)
    assert tracker.store_checks_due(0.5) == []
    assert tracker.store_checks_due(1.0) == [b"A", b"B"]
    assert tracker.stored([b"B"]) == ["b"]
    assert tracker.status("b") == DeliveryStatus.STORED
    assert tracker.overdue(2.0) == []
    late = tracker.overdue(3.0)
    assert [e.contents for e in late] == ["again a"]
    assert tracker.store_checks_due(10.0) == [], "handed back once"


def test_a_failed_message_can_be_resent_and_still_turn_out_delivered() -> None:
    tracker = DeliveryTracker()
    tracker.track("m")
    assert tracker.failed("m")
    assert tracker.outstanding() == []
    assert tracker.delivered("m"), "an acknowledgement after giving up still counts"
    tracker.track("n")
    tracker.failed("n")
    assert tracker.resent("n") and tracker.status("n") == DeliveryStatus.PENDING
    assert not tracker.resent("n"), "only a failed message is resent"
    unwatched = Envelope(b"U", 0.0, ["n"])
    assert tracker.published(unwatched, relay_peers=1, watch=False) == ["n"]
    assert tracker.store_checks_due(100.0) == []
