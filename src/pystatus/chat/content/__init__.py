"""What Status messages say, built and read as status-go v1.1.0 does it.

Pure functions and frozen dataclasses, no I/O and no clock reads: every clock and timestamp is
an argument. Each ``build_*`` returns the protobuf bytes that go inside the signed wrapper
(:func:`pystatus.chat.wrapper.wrap`, with the :class:`~pystatus.chat.wrapper.MessageType` named
in its docstring); each ``parse_*`` takes those bytes and returns a typed value or raises
:class:`InvalidContent`.

Two rules for the checks:

- ``parse_*`` rejects exactly what status-go's handlers reject (``protocol/message_validator.go``
  and the ``Handle*`` functions of ``protocol/messenger_handler.go``), so that pystatus drops the
  same messages a Status app drops, and shows the ones it shows. Where status-go's check needs
  its database (is the sender the author of the edited message?) the rule is a separate
  function here (:func:`check_edit`, :func:`check_delete`, :func:`local_chat_id`).
- ``build_*`` refuses (:class:`ContentRefused`) anything status-go would drop, and also what
  status-go never sends (a zero Lamport clock), so what pystatus writes is always accepted.

The second half is :class:`ContactRequestMachine`: the contact-request state status-go keeps for
one contact (``protocol/contact.go``), as a sans-IO state machine with a transition table, whose
``on_*`` methods say what status-go would send, show and notify for each step.

One module per concern: :mod:`.errors`, :mod:`.enums` (wire numbers), :mod:`.validation`
(status-go's field rules, and what every builder and parser shares), :mod:`.messages` (chat
messages), :mod:`.actions` (edits, deletes, pins, reactions), :mod:`.contacts` (contact
updates, acceptances, retractions), :mod:`.profiles` (chat identity, contact-code
advertisement), :mod:`.devices` (the account's own devices), :mod:`.contact_transitions` (the
transition table) and :mod:`.contact_requests` (the machine). Everything public is imported
here.
"""

from __future__ import annotations

from pystatus.chat.content.actions import (
    DELETABLE,
    DELETABLE_FOR_ME,
    EDITABLE,
    Delete,
    DeleteForMe,
    Edit,
    Pin,
    Reaction,
    build_delete,
    build_delete_for_me,
    build_edit,
    build_emoji_reaction,
    build_pin,
    check_delete,
    check_edit,
    parse_delete,
    parse_delete_for_me,
    parse_edit,
    parse_emoji_reaction,
    parse_pin,
)
from pystatus.chat.content.contact_requests import (
    ContactActions,
    ContactRequestMachine,
)
from pystatus.chat.content.contact_transitions import (
    OUR_CLOCK_EVENTS,
    TRANSITIONS,
    ContactEvent,
    ContactHalves,
)
from pystatus.chat.content.contacts import (
    DEFAULT_CONTACT_REQUEST_TEXT,
    AcceptRequest,
    ContactUpdate,
    PropagatedState,
    RetractRequest,
    build_accept_contact_request,
    build_contact_update,
    build_retract_contact_request,
    default_contact_request_id,
    parse_accept_contact_request,
    parse_contact_update,
    parse_retract_contact_request,
)
from pystatus.chat.content.devices import (
    Installation,
    RequestDecision,
    SyncedContact,
    build_pair_installation,
    build_request_decision,
    build_synced_contact,
    parse_pair_installation,
    parse_request_decision,
    parse_synced_contact,
)
from pystatus.chat.content.enums import (
    CUSTOMIZATION_COLOR_BLUE,
    AudioType,
    ChatMessageType,
    ContactRequestState,
    ContentType,
    EmojiType,
    ImageFormat,
    ImageSourceType,
    MutualEvent,
    RequestMessageState,
)
from pystatus.chat.content.errors import (
    ContentError,
    ContentRefused,
    InvalidContent,
)
from pystatus.chat.content.messages import (
    IMAGE_MIME_TYPES,
    Audio,
    Bridge,
    ChatContent,
    Discord,
    Image,
    Sticker,
    audio_of,
    build_chat_message,
    describe,
    image_of,
    parse_chat_message,
    sniff_image_format,
    sticker_of,
)
from pystatus.chat.content.profiles import (
    MAX_BIO_LENGTH,
    ChatIdentity,
    ContactCodeAdvertisement,
    IdentityImage,
    build_chat_identity,
    build_contact_code_advertisement,
    parse_chat_identity,
    parse_contact_code_advertisement,
)
from pystatus.chat.content.validation import (
    MAX_CLOCK_DRIFT_MS,
    MAX_TEXT_LENGTH,
    PUBLIC_KEY_ID_LENGTH,
    local_chat_id,
    validate_clock,
    validate_display_name,
    validate_text,
)

__all__ = [
    "CUSTOMIZATION_COLOR_BLUE",
    "DEFAULT_CONTACT_REQUEST_TEXT",
    "DELETABLE",
    "DELETABLE_FOR_ME",
    "EDITABLE",
    "IMAGE_MIME_TYPES",
    "MAX_BIO_LENGTH",
    "MAX_CLOCK_DRIFT_MS",
    "MAX_TEXT_LENGTH",
    "OUR_CLOCK_EVENTS",
    "PUBLIC_KEY_ID_LENGTH",
    "TRANSITIONS",
    "AcceptRequest",
    "Audio",
    "AudioType",
    "Bridge",
    "ChatContent",
    "ChatIdentity",
    "ChatMessageType",
    "ContactActions",
    "ContactCodeAdvertisement",
    "ContactEvent",
    "ContactHalves",
    "ContactRequestMachine",
    "ContactRequestState",
    "ContactUpdate",
    "ContentError",
    "ContentRefused",
    "ContentType",
    "Delete",
    "DeleteForMe",
    "Discord",
    "Edit",
    "EmojiType",
    "IdentityImage",
    "Image",
    "ImageFormat",
    "ImageSourceType",
    "Installation",
    "InvalidContent",
    "MutualEvent",
    "Pin",
    "PropagatedState",
    "Reaction",
    "RequestDecision",
    "RequestMessageState",
    "RetractRequest",
    "Sticker",
    "SyncedContact",
    "audio_of",
    "build_accept_contact_request",
    "build_chat_identity",
    "build_chat_message",
    "build_contact_code_advertisement",
    "build_contact_update",
    "build_delete",
    "build_delete_for_me",
    "build_edit",
    "build_emoji_reaction",
    "build_pair_installation",
    "build_pin",
    "build_request_decision",
    "build_retract_contact_request",
    "build_synced_contact",
    "check_delete",
    "check_edit",
    "default_contact_request_id",
    "describe",
    "image_of",
    "local_chat_id",
    "parse_accept_contact_request",
    "parse_chat_identity",
    "parse_chat_message",
    "parse_contact_code_advertisement",
    "parse_contact_update",
    "parse_delete",
    "parse_delete_for_me",
    "parse_edit",
    "parse_emoji_reaction",
    "parse_pair_installation",
    "parse_pin",
    "parse_request_decision",
    "parse_retract_contact_request",
    "parse_synced_contact",
    "sniff_image_format",
    "sticker_of",
    "validate_clock",
    "validate_display_name",
    "validate_text",
]
