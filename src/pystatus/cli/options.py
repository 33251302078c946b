"""The options every `pystatus` command that sends shares, declared once.

A command that sends (`group create|add|remove|leave|send`, `community ...`, and any other
that reaches the network) takes the options `chat send` takes: ``--staticnode``,
``--storenode``, ``--data-dir``, the password, ``--cluster-id``, ``--light`` with
``--filternode`` and ``--lightpushnode``, ``--timeout``, ``--wait-delivered`` (where a
recipient acknowledges: not for communities, whose messages status-go sends without data
sync) and ``--json``. :func:`sending_options` adds them to a command's own parameters (typer
reads the combined signature, so ``--help`` lists them all, and only them) and hands the
command one :class:`Sending` in a parameter named ``sending``; :func:`command_options` makes
the variants, and :func:`reading_options` gives a command that only reads the account's
database its three options as one :class:`Reading` in a parameter named ``reading``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from pystatus.chat.topics import STATUS_CLUSTER
from pystatus.cli import chat_node
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat_io import Json
from pystatus.cli.chat_node import LightNodes

Timeout = Annotated[
    float, typer.Option(help="Seconds to wait until sent (with --wait-delivered: delivered)")
]
WaitDelivered = Annotated[
    bool,
    typer.Option(
        "--wait-delivered",
        help="Wait until every recipient's device acknowledges it (delivered), not only sent",
    ),
]


@dataclass(frozen=True, slots=True)
class Sending:
    """What the shared options said: the static nodes (multiaddrs as typed), the data dir
    (None: the default), the password (None: ask), the Waku cluster, the light client's
    service nodes (None: a relay peer), how long to wait for acknowledgement (seconds) and
    whether to print JSON."""

    staticnode: list[str]
    data_dir: Path | None
    password: str | None
    cluster_id: int
    light: LightNodes | None
    timeout: float
    json_output: bool
    wait_delivered: bool = False
    """Wait for the acknowledgements (delivered), not only until sent."""
    storenode: str | None = None
    """A store node's multiaddr as typed: confirms what is sent, fetches what was missed."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a command that reads the account's database only (no network) was told: the
    data dir (None: the default), the password (None: ask) and whether to print JSON."""

    data_dir: Path | None
    password: str | None
    json_output: bool


Command = Callable[..., None]
Option = tuple[str, Any, object]
"""A shared option: its parameter name, typer annotation and default."""

_PEERS: Option = ("staticnode", chat_node.StaticNodes, inspect.Parameter.empty)
_PEERS_OPTIONAL: Option = (
    "staticnode",
    Annotated[
        list[str] | None,
        typer.Option("--staticnode", help="Multiaddr of a relay peer (repeatable; to send)"),
    ],
    None,
)
_ACCOUNT: tuple[Option, ...] = (("data_dir", DataDir, None), ("password", Password, None))
_NETWORK: tuple[Option, ...] = (
    ("cluster_id", chat_node.ClusterId, STATUS_CLUSTER),
    ("light", chat_node.Light, False),
    ("filternode", chat_node.FilterNodes, None),
    ("lightpushnode", chat_node.LightPushNodes, None),
)
_WAIT_DELIVERED: tuple[Option, ...] = (
    ("timeout", Timeout, 30.0),
    ("wait_delivered", WaitDelivered, False),
)
_WAIT_SENT: Option = (
    "timeout",
    Annotated[float, typer.Option(help="Seconds to wait until sent")],
    30.0,
)
_JSON: Option = ("json_output", Json, False)


def _sending(given: dict[str, Any]) -> Sending:
    return Sending(
        staticnode=given["staticnode"] or [],
        storenode=given["storenode"],
        data_dir=given["data_dir"],
        password=given["password"],
        cluster_id=given["cluster_id"],
        light=chat_node.light_nodes(given["light"], given["filternode"], given["lightpushnode"]),
        timeout=given["timeout"],
        json_output=given["json_output"],
        wait_delivered=given.get("wait_delivered", False),
    )


def command_options(
    *, acknowledged: bool = True, peers_required: bool = True
) -> Callable[[Command], Command]:
    """The decorator adding the sending options: with ``--wait-delivered`` only where a
    recipient ``acknowledged`` what is sent; ``--staticnode`` optional unless
    ``peers_required`` (a command that sends only with some of its options: it checks)."""
    shared = (
        _PEERS if peers_required else _PEERS_OPTIONAL,
        ("storenode", chat_node.StoreNode, None),
        *_ACCOUNT,
        *_NETWORK,
        *(_WAIT_DELIVERED if acknowledged else (_WAIT_SENT,)),
        _JSON,
    )

    def decorate(command: Command) -> Command:
        return _with_options(command, shared=shared, parameter="sending", build=_sending)

    return decorate


sending_options: Callable[[Command], Command] = command_options()
"""``command`` (whose last parameter is ``sending: Sending``) with the sending options in its
place. Raises ``TypeError`` at import time when ``command`` has no ``sending`` parameter, or
already has one of the shared names."""


def _reading(given: dict[str, Any]) -> Reading:
    return Reading(given["data_dir"], given["password"], given["json_output"])


def reading_options(command: Command) -> Command:
    """``command`` (with a parameter ``reading: Reading``) with ``--data-dir``, the password
    and ``--json`` in its place. Raises ``TypeError`` as :data:`sending_options` does."""
    return _with_options(command, shared=(*_ACCOUNT, _JSON), parameter="reading", build=_reading)


def _with_options(
    command: Command,
    *,
    shared: tuple[Option, ...],
    parameter: str,
    build: Callable[[dict[str, Any]], object],
) -> Command:
    """``command`` with the ``shared`` options in place of its parameter ``parameter``,
    which receives ``build`` of their values. Raises ``TypeError`` when ``command`` has no
    such parameter, or already has one of the shared names."""
    names = frozenset(name for name, _, _ in shared)
    hints = get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.name != parameter
    ]
    if parameter not in hints or any(p.name in names for p in own):
        raise TypeError(f"{command.__name__}: takes `{parameter}` and none of the shared options")
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in shared
    ]

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        given = {name: values.pop(name) for name in names}
        command(**values, **{parameter: build(given)})

    keyword_only = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    wrapper.__signature__ = inspect.Signature([*keyword_only, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*keyword_only, *added]}
    del wrapper.__wrapped__  # typer must read the new signature, not the command's
    return wrapper
