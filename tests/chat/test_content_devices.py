"""Pairing and sync messages between our own devices as status-go v1.1.0 builds and reads them
(pystatus.chat.content.devices)."""

from __future__ import annotations

import pytest

from pystatus.chat import content as c
from pystatus.chat.content import InvalidContent, SyncedContact
from pystatus.chat.proto import chat_message_pb2, pairing_pb2
from tests.chat.content_helpers import BOB_ID, S, pb


def test_device_messages_round_trip() -> None:
    installation = c.build_pair_installation(5, "inst-1", "desktop", "laptop")
    assert c.parse_pair_installation(installation) == c.Installation(
        5, "inst-1", "desktop", "laptop"
    )
    synced = SyncedContact(
        BOB_ID, last_updated=3, added=True, local_state=S, local_clock=9, display_name="Bob B"
    )
    assert c.parse_synced_contact(c.build_synced_contact(synced)) == synced
    for accepted in (True, False):
        decision = c.build_request_decision(8, "0xreq", accepted=accepted, contact_id=BOB_ID)
        assert c.parse_request_decision(decision) == c.RequestDecision(8, "0xreq", accepted, BOB_ID)


def test_negative_sync_clocks_read_as_go_does() -> None:
    raw = pairing_pb2.SyncInstallationContactV2(id=BOB_ID, contact_request_local_clock=-1)
    assert c.parse_synced_contact(raw.SerializeToString()).local_clock == (1 << 64) - 1


def test_the_old_pairing_message_reads_as_before() -> None:
    old = chat_message_pb2.PairInstallation(clock=1, installation_id="i", device_type="d", name="n")
    assert c.parse_pair_installation(old.SerializeToString()).version == 0


def test_device_rules() -> None:
    good = {"clock": 1, "installation_id": "i", "device_type": "d", "name": "n"}
    for change in ({"clock": 0}, {"installation_id": " "}, {"device_type": ""}, {"name": "\t"}):
        bad = pb(chat_message_pb2.PairInstallation, **(good | change))
        with pytest.raises(InvalidContent):
            c.parse_pair_installation(bad.SerializeToString())
    for bad_id in ("", "bob", BOB_ID[:-2], "0x02" + BOB_ID[4:], BOB_ID.replace("0x", "zz")):
        with pytest.raises(InvalidContent):
            c.parse_synced_contact(
                pairing_pb2.SyncInstallationContactV2(id=bad_id).SerializeToString()
            )
    odd = pb(pairing_pb2.SyncContactRequestDecision, decision_status=7)
    assert not c.parse_request_decision(odd.SerializeToString()).accepted
