"""One contact's request state machine and the actions status-go v1.1.0 takes on each event
(pystatus.chat.content.contact_requests)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat import content as c
from pystatus.chat.content import (
    TRANSITIONS,
    ContactActions,
    ContactRequestMachine,
    ContactUpdate,
    InvalidContent,
    MutualEvent,
    PropagatedState,
    RequestMessageState,
    SyncedContact,
)
from pystatus.chat.wrapper import MessageType
from tests.chat.content_helpers import ALICE_ID, BOB_ID, D, N, R, S


def test_a_request_sent_received_and_accepted() -> None:
    alice = ContactRequestMachine(BOB_ID)  # Alice's view of Bob
    bob = ContactRequestMachine(ALICE_ID)  # Bob's view of Alice

    sent = alice.on_sent_request(10)
    assert sent == ContactActions(
        processed=True,
        send=(MessageType.CHAT_IDENTITY, MessageType.CHAT_MESSAGE),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert alice.state is S
    assert alice.propagated_state() == PropagatedState(10, S, 0, N)

    # Bob gets it: into his requests, chat still hidden, pending
    received = bob.on_received_request(11, propagated=alice.propagated_state())
    assert received == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert bob.state is R
    # the same request again (a resend) changes nothing, and is no new request
    again = bob.on_received_request(11, propagated=PropagatedState(10, S, 0, N))
    assert not again.processed and not again.to_requests and again.show_message

    accepted = bob.on_accept(12)
    assert accepted == ContactActions(
        processed=True,
        send=(MessageType.ACCEPT_CONTACT_REQUEST, MessageType.CHAT_IDENTITY),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2, MessageType.SYNC_CONTACT_REQUEST_DECISION),
        chat_active=True,
        request_state=RequestMessageState.ACCEPTED,
        mutual_event=MutualEvent.ADDED,
    )
    assert bob.mutual

    got = alice.on_received_accept(13, request_chat_id=BOB_ID)
    assert got == ContactActions(
        processed=True,
        chat_active=True,
        request_state=RequestMessageState.ACCEPTED,
        mutual_event=MutualEvent.ADDED,
    )
    assert alice.mutual
    # a duplicate: nothing new, and no second "accepted" line once the request is accepted
    dup = alice.on_received_accept(13, request_chat_id=BOB_ID, request_accepted=True)
    assert not dup.processed and dup.mutual_event is None

    # from now on their messages open the chat
    assert alice.on_received_message(20, propagated=bob.propagated_state()).chat_active


def test_an_acceptance_for_someone_elses_request_is_refused() -> None:
    alice = ContactRequestMachine(BOB_ID)
    alice.on_sent_request(10)
    with pytest.raises(InvalidContent):
        alice.on_received_accept(11, request_chat_id=ALICE_ID)
    assert not alice.has_added_us
    # an acceptance naming no request we know counts (a legacy or unsynced request)
    assert alice.on_received_accept(11).processed
    assert alice.mutual
    # a stale one is ignored before the chat is even looked at
    assert not alice.on_received_accept(3, request_chat_id=ALICE_ID).processed


def test_a_chat_deleted_later_stays_deleted() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=10)
    assert alice.on_received_accept(11, deleted_at=12).chat_active is None


def test_a_declined_request_sends_nothing_and_stays_declined() -> None:
    alice = ContactRequestMachine(BOB_ID)
    bob = ContactRequestMachine(ALICE_ID)
    alice.on_sent_request(10)
    bob.on_received_request(11, propagated=alice.propagated_state())

    declined = bob.on_decline(12)
    assert declined == ContactActions(
        processed=True,
        sync=(MessageType.SYNC_CONTACT_REQUEST_DECISION,),
        request_state=RequestMessageState.DISMISSED,
    )
    assert bob.state is D

    # Alice insists: the request message is dropped, the decision stands
    alice.on_sent_request(20)
    again = bob.on_received_request(21, propagated=alice.propagated_state())
    assert not again.show_message and not again.to_requests
    assert bob.state is D
    # her retraction resets her half but not Bob's decline
    assert bob.on_received_retract(30).processed
    assert (bob.ours, bob.our_clock, bob.theirs, bob.their_clock) == (D, 12, N, 30)
    # an implicit retraction does not undo it either
    bob.on_received_message(31, propagated=PropagatedState(25, N, 40, N))
    assert bob.ours is D
    # Bob can still change his mind and ask her himself
    assert bob.on_sent_request(40).processed and bob.state is S


def test_retractions() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=10, theirs=R, their_clock=11)
    bob = ContactRequestMachine(ALICE_ID, ours=S, our_clock=12, theirs=R, their_clock=10)

    removed = alice.on_retract(20)
    assert removed == ContactActions(
        processed=True,
        send=(MessageType.RETRACT_CONTACT_REQUEST,),
        sync=(MessageType.SYNC_INSTALLATION_CONTACT_V2,),
        mutual_event=MutualEvent.REMOVED,
    )
    assert alice.state is N and (alice.our_clock, alice.their_clock) == (20, 20)
    assert alice.on_retract(25, notify=False).send == ()

    got = bob.on_received_retract(21)
    assert got == ContactActions(processed=True, mutual_event=MutualEvent.REMOVED)
    assert bob.state is N and (bob.our_clock, bob.their_clock) == (21, 21)
    assert bob.on_received_retract(21) == ContactActions(), "stale"
    assert bob.on_received_retract(5) == ContactActions()


def test_crossed_requests_make_contacts() -> None:
    alice = ContactRequestMachine(BOB_ID)
    bob = ContactRequestMachine(ALICE_ID)
    alice.on_sent_request(10)
    sent = bob.on_sent_request(7)
    assert sent.request_state is RequestMessageState.PENDING
    # Bob reads Alice's request: mutual now; status-go drops the request message and, seeing
    # Alice does not know Bob's half, sends his state back
    crossed = bob.on_received_request(11, propagated=alice.propagated_state())
    assert bob.mutual
    assert not crossed.show_message
    assert crossed.send == (MessageType.CONTACT_UPDATE,)
    update = c.parse_contact_update(bob.contact_update(12, display_name="Bob B"))
    assert update.public_key == ALICE_ID and update.contact_request_clock == 7
    taken = alice.on_contact_update(update)
    assert alice.mutual
    assert taken.chat_active and taken.profile_updated and not taken.to_requests
    assert taken.request_state is RequestMessageState.ACCEPTED


def test_a_request_from_someone_we_asked_is_accepted_at_once() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=5)
    got = alice.on_received_request(9)  # an old client: no propagated state
    assert got == ContactActions(
        processed=True, chat_active=True, request_state=RequestMessageState.ACCEPTED
    )
    assert alice.mutual
    # asking someone who asked us is accepted at once too
    bob = ContactRequestMachine(ALICE_ID, theirs=R, their_clock=9)
    assert bob.on_sent_request(10).request_state is RequestMessageState.ACCEPTED


def test_a_message_carrying_a_request_counts_as_one() -> None:
    bob = ContactRequestMachine(ALICE_ID)
    got = bob.on_received_message(15, propagated=PropagatedState(10, S, 0, N))
    assert got == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        mutual_event=MutualEvent.SENT,
    )
    assert bob.has_added_us
    assert bob.on_received_message(16) == ContactActions()


def test_propagated_state_catches_up_both_ways() -> None:
    alice = ContactRequestMachine(BOB_ID, ours=S, our_clock=5, theirs=R, their_clock=6)
    # Bob thinks Alice's half is none as of clock 3 (behind ours): tell him
    behind = alice.on_received_message(20, propagated=PropagatedState(6, S, 3, N))
    assert behind.send == (MessageType.CONTACT_UPDATE,) and alice.mutual
    # Bob knows of a retraction of Alice's half at clock 9 that Alice missed (another of her
    # devices): both halves reset
    ahead = alice.on_received_message(21, propagated=PropagatedState(6, S, 9, N))
    assert ahead.processed and not ahead.send
    assert (alice.ours, alice.our_clock, alice.theirs) == (N, 9, N)
    # and Bob's own retraction, seen through his state
    carol = ContactRequestMachine(ALICE_ID, ours=S, our_clock=5, theirs=R, their_clock=6)
    carol.on_received_message(22, propagated=PropagatedState(8, N, 5, S))
    assert (carol.ours, carol.theirs, carol.our_clock, carol.their_clock) == (N, N, 8, 8)


def test_contact_updates() -> None:
    bob = ContactRequestMachine(ALICE_ID)
    request = ContactUpdate(
        30, "Alice L", contact_request_clock=10, propagated_state=PropagatedState(10, S, 0, N)
    )
    got = bob.on_contact_update(request)
    assert got == ContactActions(
        processed=True,
        to_requests=True,
        request_state=RequestMessageState.PENDING,
        profile_updated=True,
    )
    assert bob.last_updated == 30 and bob.state is R
    stale = bob.on_contact_update(replace(request, clock=29))
    assert not stale.processed and not stale.profile_updated and not stale.to_requests
    # an old client's update: no propagated state, the request clock counts
    carol = ContactRequestMachine(ALICE_ID)
    legacy = carol.on_contact_update(ContactUpdate(3, contact_request_clock=2))
    assert legacy.to_requests and carol.has_added_us
    # a profile change from a contact: the chat shows, nothing else
    dave = ContactRequestMachine(ALICE_ID, ours=S, our_clock=4, theirs=R, their_clock=3)
    profile = dave.on_contact_update(
        ContactUpdate(
            50, "Alice M", contact_request_clock=3, propagated_state=PropagatedState(3, S, 4, S)
        )
    )
    assert profile == ContactActions(processed=True, chat_active=True, profile_updated=True)


def test_our_request_from_another_device() -> None:
    alice = ContactRequestMachine(BOB_ID)
    mine = alice.on_received_request(7, outgoing=True)
    assert mine == ContactActions(
        processed=True, chat_active=True, request_state=RequestMessageState.PENDING
    )
    assert alice.added
    assert not alice.on_received_request(7, outgoing=True).processed


def test_contact_sync_from_another_device() -> None:
    alice = ContactRequestMachine(BOB_ID)
    synced = SyncedContact(BOB_ID, local_state=S, local_clock=5, remote_state=R, remote_clock=4)
    assert alice.on_synced_contact(synced).processed
    assert alice.mutual
    assert not alice.on_synced_contact(synced).processed
    # another device removed Bob
    removal = SyncedContact(BOB_ID, local_state=N, local_clock=9, remote_state=N, remote_clock=9)
    assert alice.on_synced_contact(removal).processed
    assert alice.state is N
    # another device declined him
    assert alice.on_synced_contact(SyncedContact(BOB_ID, local_state=D, local_clock=12)).processed
    assert alice.state is D
    # a record without request clocks (an old client) is not modelled
    assert alice.on_synced_contact(SyncedContact(BOB_ID, added=True)) == ContactActions()
    with pytest.raises(ValueError, match="another contact"):
        alice.on_synced_contact(SyncedContact(ALICE_ID, local_clock=1))


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "sent",
                    "accept",
                    "decline",
                    "retract",
                    "request",
                    "message",
                    "got_accept",
                    "got_retract",
                    "update",
                ]
            ),
            st.integers(1, 40),
            st.tuples(*[st.integers(0, 40), st.integers(0, 4)] * 2),
        ),
        max_size=25,
    )
)
def test_any_conversation_gives_consistent_actions(
    steps: list[tuple[str, int, tuple[int, int, int, int]]],
) -> None:
    machine = ContactRequestMachine(BOB_ID)
    for step, clock, (lc, ls, rc, rs) in steps:
        propagated = PropagatedState(lc, ls, rc, rs)
        if step == "sent":
            actions = machine.on_sent_request(clock)
        elif step == "accept":
            actions = machine.on_accept(clock)
        elif step == "decline":
            actions = machine.on_decline(clock)
        elif step == "retract":
            actions = machine.on_retract(clock)
        elif step == "request":
            actions = machine.on_received_request(clock, propagated=propagated)
        elif step == "message":
            actions = machine.on_received_message(clock, propagated=propagated)
        elif step == "got_accept":
            actions = machine.on_received_accept(clock)
        elif step == "got_retract":
            actions = machine.on_received_retract(clock)
        else:
            actions = machine.on_contact_update(
                ContactUpdate(clock, contact_request_clock=lc, propagated_state=propagated)
            )
        assert (machine.ours, machine.theirs) in TRANSITIONS
        assert set(actions.send) <= {
            MessageType.CHAT_MESSAGE,
            MessageType.CHAT_IDENTITY,
            MessageType.CONTACT_UPDATE,
            MessageType.ACCEPT_CONTACT_REQUEST,
            MessageType.RETRACT_CONTACT_REQUEST,
        }
        if actions.to_requests:
            assert machine.has_added_us or not actions.show_message
        if actions.chat_active is not None:
            assert actions.chat_active
        # what we would put on our next message always decodes
        c.parse_contact_update(machine.contact_update(max(clock, 1)))
