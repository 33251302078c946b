"""What the account's own devices tell each other (SYNC_PAIR_INSTALLATION,
SYNC_INSTALLATION_CONTACT_V2, SYNC_CONTACT_REQUEST_DECISION), as status-go sends it."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.chat.content.enums import ContactRequestState
from pystatus.chat.content.errors import ContentRefused, InvalidContent
from pystatus.chat.content.validation import (
    _GO_SPACE,
    _build_clock,
    _checked,
    _decode,
    _encoding,
    _is_public_key_id,
    _require,
    _serialize,
    validate_clock,
)
from pystatus.chat.proto import chat_message_pb2, pairing_pb2


@dataclass(frozen=True, slots=True)
class Installation:
    clock: int
    installation_id: str
    device_type: str
    name: str
    version: int = 0


def build_pair_installation(
    clock: int, installation_id: str, device_type: str, name: str, *, version: int = 0
) -> bytes:
    """A ``SyncPairInstallation`` (pystatus's ``PairInstallation``; wrapper type
    ``SYNC_PAIR_INSTALLATION``): this device introducing itself to the account's others."""
    _build_clock(clock)
    with _encoding():
        message = chat_message_pb2.PairInstallation(
            clock=clock,
            installation_id=installation_id,
            device_type=device_type,
            name=name,
            version=version,
        )
    return _checked(message, parse_pair_installation)


def parse_pair_installation(data: bytes, *, sent_at_ms: int | None = None) -> Installation:
    """Read a ``SyncPairInstallation``, rejecting what ``ValidateReceivedPairInstallation``
    rejects: a bad clock, a blank name, device type or installation id. (status-go takes it
    only from our own key.)"""
    message = _decode(chat_message_pb2.PairInstallation(), data, "pair installation")
    validate_clock(message.clock, sent_at_ms)
    _require(message.name.strip(_GO_SPACE), "name")
    _require(message.device_type.strip(_GO_SPACE), "device type")
    _require(message.installation_id.strip(_GO_SPACE), "installationId")
    return Installation(
        message.clock, message.installation_id, message.device_type, message.name, message.version
    )


def _go_uint64(value: int) -> int:
    """Go's ``uint64(int64)``: what status-go makes of the signed clocks in contact sync."""
    return value % (1 << 64)


@dataclass(frozen=True, slots=True)
class SyncedContact:
    """A contact as another device of the account has it (``SyncInstallationContactV2``)."""

    id: str
    last_updated_locally: int = 0
    last_updated: int = 0
    display_name: str = ""
    ens_name: str = ""
    local_nickname: str = ""
    added: bool = False
    has_added_us: bool = False
    blocked: bool = False
    muted: bool = False
    removed: bool = False
    local_state: int = ContactRequestState.NONE
    local_clock: int = 0
    remote_state: int = ContactRequestState.NONE
    remote_clock: int = 0
    verification_status: int = 0
    trust_status: int = 0
    customization_color: int = 0


def build_synced_contact(contact: SyncedContact) -> bytes:
    """A ``SyncInstallationContactV2`` (wrapper type ``SYNC_INSTALLATION_CONTACT_V2``), what
    status-go's ``syncContact`` sends the account's other devices whenever a contact changes
    (``buildSyncContactMessage``, messenger_backup.go)."""
    if not _is_public_key_id(contact.id):
        raise ContentRefused("a synced contact's id is its 0x04... key")
    with _encoding():
        message = pairing_pb2.SyncInstallationContactV2(
            last_updated_locally=contact.last_updated_locally,
            id=contact.id,
            ens_name=contact.ens_name,
            last_updated=contact.last_updated,
            local_nickname=contact.local_nickname,
            added=contact.added,
            blocked=contact.blocked,
            muted=contact.muted,
            removed=contact.removed,
            has_added_us=contact.has_added_us,
            verification_status=contact.verification_status,
            trust_status=contact.trust_status,
            contact_request_local_state=contact.local_state,
            contact_request_local_clock=contact.local_clock,
            contact_request_remote_state=contact.remote_state,
            contact_request_remote_clock=contact.remote_clock,
            display_name=contact.display_name,
            customization_color=contact.customization_color,
        )
    return _checked(message, parse_synced_contact)


def parse_synced_contact(data: bytes) -> SyncedContact:
    """Read a ``SyncInstallationContactV2``; its id must name a public key (status-go's
    ``HandleSyncInstallationContactV2`` fails on one that does not). status-go takes it only
    from our own key and skips the one about ourselves (the caller's checks)."""
    message = _decode(pairing_pb2.SyncInstallationContactV2(), data, "contact sync")
    if not _is_public_key_id(message.id):
        raise InvalidContent("a synced contact's id is its 0x04... key")
    return SyncedContact(
        id=message.id,
        last_updated_locally=message.last_updated_locally,
        last_updated=message.last_updated,
        display_name=message.display_name,
        ens_name=message.ens_name,
        local_nickname=message.local_nickname,
        added=message.added,
        has_added_us=message.has_added_us,
        blocked=message.blocked,
        muted=message.muted,
        removed=message.removed,
        local_state=_go_uint64(message.contact_request_local_state),
        local_clock=_go_uint64(message.contact_request_local_clock),
        remote_state=_go_uint64(message.contact_request_remote_state),
        remote_clock=_go_uint64(message.contact_request_remote_clock),
        verification_status=message.verification_status,
        trust_status=message.trust_status,
        customization_color=message.customization_color,
    )


@dataclass(frozen=True, slots=True)
class RequestDecision:
    """A contact request accepted or declined on another device (``SyncContactRequestDecision``)."""

    clock: int
    request_id: str
    accepted: bool
    contact_id: str = ""


def build_request_decision(
    clock: int, request_id: str, *, accepted: bool, contact_id: str = ""
) -> bytes:
    """A ``SyncContactRequestDecision`` (wrapper type ``SYNC_CONTACT_REQUEST_DECISION``), what
    status-go's ``syncContactRequestDecision`` (messenger_pairing_and_syncing.go) sends the
    account's other devices after we accept or decline a request."""
    _build_clock(clock)
    status = pairing_pb2.SyncContactRequestDecision.ACCEPTED
    if not accepted:
        status = pairing_pb2.SyncContactRequestDecision.DECLINED
    with _encoding():
        message = pairing_pb2.SyncContactRequestDecision(
            clock=clock, requestId=request_id, decision_status=status, contactId=contact_id
        )
    return _serialize(message)


def parse_request_decision(data: bytes) -> RequestDecision:
    """Read a ``SyncContactRequestDecision``: any status but ``ACCEPTED`` (0) is a decline,
    as ``HandleSyncContactRequestDecision`` reads it."""
    message = _decode(pairing_pb2.SyncContactRequestDecision(), data, "request decision")
    return RequestDecision(
        message.clock,
        message.requestId,
        message.decision_status == pairing_pb2.SyncContactRequestDecision.ACCEPTED,
        message.contactId,
    )
