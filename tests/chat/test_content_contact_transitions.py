"""The contact-request transition table and the clocks guarding each step, as status-go v1.1.0
has them (pystatus.chat.content.contact_transitions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pystatus.chat.content import (
    TRANSITIONS,
    ContactEvent,
    ContactRequestMachine,
    ContactRequestState,
)
from tests.chat.content_helpers import BOB_ID, CONTACT_EVENTS, D, N, R, S


def test_the_table_covers_every_state_and_stays_in_it() -> None:
    halves = {(N, N), (N, R), (S, N), (S, R), (D, N), (D, R)}
    assert set(TRANSITIONS) == halves
    for state, row in TRANSITIONS.items():
        expected = set(ContactEvent)
        if state[0] is D:
            expected.discard(ContactEvent.IMPLICIT_RETRACT)  # a decline is not undone by it
        assert set(row) == expected, state
        assert set(row.values()) <= halves
        # status-go's equivalences
        assert row[ContactEvent.ACCEPT] == row[ContactEvent.SEND]
        assert row[ContactEvent.RECEIVE_ACCEPT] == row[ContactEvent.RECEIVE]
        assert row[ContactEvent.RETRACT] == (N, N)
        assert row[ContactEvent.RECEIVE_RETRACT] == (D if state[0] is D else N, N)


def test_the_summary_state_is_status_gos() -> None:
    def summary(ours: ContactRequestState, theirs: ContactRequestState) -> ContactRequestState:
        return ContactRequestMachine(BOB_ID, ours=ours, theirs=theirs).state

    assert summary(N, N) is N
    assert summary(S, N) is S
    assert summary(N, R) is R
    assert summary(S, R) is ContactRequestState.MUTUAL
    assert summary(D, R) is D
    assert summary(D, N) is D
    with pytest.raises(ValueError, match="state"):
        ContactRequestMachine(BOB_ID, ours=R)


def test_clocks_guard_every_step() -> None:
    machine = ContactRequestMachine(BOB_ID)
    assert machine.handle(ContactEvent.SEND, 5)
    assert not machine.handle(ContactEvent.DECLINE, 5), "ours is judged by our clock"
    assert machine.handle(ContactEvent.RECEIVE, 1), "theirs by theirs"
    assert machine.mutual
    assert not machine.handle(ContactEvent.RECEIVE_RETRACT, 1)
    assert machine.handle(ContactEvent.RETRACT, 9)
    assert (machine.ours, machine.our_clock, machine.theirs, machine.their_clock) == (N, 9, N, 9)
    assert not machine.handle(ContactEvent.RECEIVE, 9), "a retraction voids what came before"


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(CONTACT_EVENTS, st.integers(0, 30)), max_size=30))
def test_any_sequence_stays_in_the_table_and_a_step_twice_is_a_no_op(
    steps: list[tuple[ContactEvent, int]],
) -> None:
    machine = ContactRequestMachine(BOB_ID)
    for event, clock in steps:
        before = (machine.ours, machine.theirs, machine.our_clock, machine.their_clock)
        applied = machine.handle(event, clock)
        after = (machine.ours, machine.theirs, machine.our_clock, machine.their_clock)
        assert (machine.ours, machine.theirs) in TRANSITIONS
        if not applied:
            assert after == before
        assert not machine.handle(event, clock), "the same step again"
