"""Contact-request messages and contact updates as status-go v1.1.0 builds and reads them
(pystatus.chat.content.contacts)."""

from __future__ import annotations

import pytest

from pystatus.chat import content as c
from pystatus.chat.content import AcceptRequest, ContactUpdate, ContentRefused, PropagatedState
from tests.chat.content_helpers import BOB_ID, R, S


def test_contact_messages_round_trip() -> None:
    assert c.parse_accept_contact_request(
        c.build_accept_contact_request("0xreq", 12)
    ) == AcceptRequest("0xreq", 12)
    assert c.parse_retract_contact_request(c.build_retract_contact_request(13)) == (
        c.RetractRequest("", 13)
    )
    state = PropagatedState(10, S, 4, R)
    update = c.build_contact_update(
        20,
        display_name="Alice L",
        ens_name="alice.stateofus.eth",
        contact_request_clock=10,
        propagated_state=state,
        public_key=BOB_ID,
    )
    assert c.parse_contact_update(update) == ContactUpdate(
        20, "Alice L", "alice.stateofus.eth", "", 10, state, BOB_ID, c.CUSTOMIZATION_COLOR_BLUE
    )
    assert c.parse_contact_update(c.build_contact_update(1)).propagated_state is None


def test_default_contact_request_id() -> None:
    assert c.default_contact_request_id("0x04ab") == "0x04ab20"
    assert c.default_contact_request_id(BOB_ID) == BOB_ID + "20"
    with pytest.raises(ContentRefused):
        c.default_contact_request_id("0xnothex")
