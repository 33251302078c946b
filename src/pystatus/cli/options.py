"""The options every `pystatus` command that sends shares, declared once.

A command that sends (`group create|add|remove|leave|send`, and any other that reaches the
network and waits for acknowledgements) takes the same ten options: ``--staticnode``,
``--data-dir``, the password, ``--cluster-id``, ``--light`` with ``--filternode`` and
``--lightpushnode``, ``--timeout``, ``--wait-delivered`` and ``--json``.
:func:`sending_options` adds them to a command's own parameters (typer reads the combined
signature, so ``--help`` lists them all) and hands the command one :class:`Sending` in a
parameter named ``sending``.
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
from pystatus.cli.account import DataDir, Password
from pystatus.cli.chat_io import Json
from pystatus.cli.chat_node import (
    ClusterId,
    FilterNodes,
    Light,
    LightNodes,
    LightPushNodes,
    StaticNodes,
    light_nodes,
)

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


_SHARED: tuple[tuple[str, Any, object], ...] = (
    ("staticnode", StaticNodes, inspect.Parameter.empty),
    ("data_dir", DataDir, None),
    ("password", Password, None),
    ("cluster_id", ClusterId, STATUS_CLUSTER),
    ("light", Light, False),
    ("filternode", FilterNodes, None),
    ("lightpushnode", LightPushNodes, None),
    ("timeout", Timeout, 30.0),
    ("wait_delivered", WaitDelivered, False),
    ("json_output", Json, False),
)
"""Name, typer annotation and default of each shared option, in ``--help``'s order."""
_SHARED_NAMES = frozenset(name for name, _, _ in _SHARED)


def sending_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` (whose last parameter is ``sending: Sending``) with the shared options
    in its place. Raises ``TypeError`` at import time when ``command`` has no ``sending``
    parameter, or already has one of the shared names."""
    hints = get_type_hints(command, include_extras=True)
    own = [
        parameter.replace(annotation=hints[parameter.name])
        for parameter in inspect.signature(command).parameters.values()
        if parameter.name != "sending"
    ]
    if "sending" not in hints or any(p.name in _SHARED_NAMES for p in own):
        raise TypeError(f"{command.__name__}: takes `sending` and none of the shared options")
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in _SHARED
    ]

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        given = {name: values.pop(name) for name, _, _ in _SHARED}
        options = Sending(
            staticnode=given["staticnode"],
            data_dir=given["data_dir"],
            password=given["password"],
            cluster_id=given["cluster_id"],
            light=light_nodes(given["light"], given["filternode"], given["lightpushnode"]),
            timeout=given["timeout"],
            json_output=given["json_output"],
            wait_delivered=given["wait_delivered"],
        )
        command(**values, sending=options)

    keyword_only = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    wrapper.__signature__ = inspect.Signature([*keyword_only, *shared])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*keyword_only, *shared]}
    del wrapper.__wrapped__  # typer must read the new signature, not the command's
    return wrapper
