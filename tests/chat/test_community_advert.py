"""The control node's advert schedule on an explicit wall clock (status-go's
``communityAdvertiseIntervalSecond``: 24 h, only while online), sans-IO."""

from __future__ import annotations

from pystatus.chat.community_advert import ADVERTISE_INTERVAL_MS, ADVERTISED, Advertiser

NOW = 1_790_000_000_000
DAY = 24 * 3600 * 1000


def test_nothing_to_advertise_without_a_community_we_control() -> None:
    advertiser = Advertiser()
    assert advertiser.next_deadline(online=True) is None
    assert not advertiser.handle_timer(NOW, online=True)


def test_a_restart_advertises_once_online_then_every_24_hours() -> None:
    assert ADVERTISE_INTERVAL_MS == DAY
    advertiser = Advertiser()
    advertiser.restored()
    before = ADVERTISED._value.get()
    # offline: no deadline (the adapter looks again once online), nothing done
    assert advertiser.next_deadline(online=False) is None
    assert not advertiser.handle_timer(NOW, online=False)
    # online: due at once, then one day later, not before
    assert advertiser.next_deadline(online=True) == 0
    assert advertiser.handle_timer(NOW, online=True)
    assert advertiser.next_deadline(online=True) == NOW + DAY
    assert not advertiser.handle_timer(NOW + DAY - 1, online=True)
    assert advertiser.handle_timer(NOW + DAY, online=True)
    # a day spent offline: advertised as soon as it is back
    assert not advertiser.handle_timer(NOW + 3 * DAY, online=False)
    assert advertiser.handle_timer(NOW + 3 * DAY + 5, online=True)
    assert advertiser.next_deadline(online=True) == NOW + 4 * DAY + 5
    assert ADVERTISED._value.get() == before + 3


def test_a_new_community_was_just_published_its_advert_is_a_day_later() -> None:
    advertiser = Advertiser()
    advertiser.created(NOW)
    assert advertiser.next_deadline(online=True) == NOW + DAY
    advertiser.restored()  # another one read back at start: due at once all the same
    advertiser.created(NOW + 1)
    assert advertiser.next_deadline(online=True) == 0
