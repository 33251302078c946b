"""nwaku's flag syntax, rewritten for pystatus's parser."""

from __future__ import annotations

import pytest

from pystatus.cli.nwaku_args import UnsupportedFlag, normalize, parse_bool


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["--relay=true"], ["--relay=true"]),
        (["--relay"], ["--relay=true"]),
        (["--relay", "false"], ["--relay=false"]),
        (["--relay:false"], ["--relay=false"]),
        (["--shard=3", "--shard", "4"], ["--shard=3", "--shard", "4"]),
        (["--rest", "--rest-port=0"], ["--rest=true", "--rest-port=0"]),
        (["--nat=extip:1.2.3.4"], ["--nat=extip:1.2.3.4"]),
        (["--lightpush", "--filter:false"], ["--lightpush=true", "--filter=false"]),
        (["--rln-relay=false", "--discv5-discovery:false"], ["--discv5-discovery=false"]),
        (["--store", "--store-resume", "false"], ["--store=true", "--store-resume=false"]),
        (["node", "--tcp-port", "1"], ["node", "--tcp-port", "1"]),
        (
            ["--relay-peer-exchange", "--metrics-logging", "false"],
            ["--relay-peer-exchange=true", "--metrics-logging=false"],
        ),
        (["--rate-limit:store:100/1s"], ["--rate-limit=store:100/1s"]),
        (["--rate-limit", "px:1/1h"], ["--rate-limit", "px:1/1h"]),
    ],
)
def test_normalize(given: list[str], expected: list[str]) -> None:
    assert normalize(given) == expected


@pytest.mark.parametrize(
    "flag", ["--rln-relay", "--rln-relay=true", "--rln-relay:true", "--websocket-secure-support"]
)
def test_missing_features_are_refused_by_name(flag: str) -> None:
    name = flag[2:].split("=")[0].split(":")[0]
    with pytest.raises(UnsupportedFlag, match=f"--{name}"):
        normalize([flag])


def test_parse_bool() -> None:
    assert parse_bool("relay", "TRUE") and not parse_bool("relay", "off")
    with pytest.raises(ValueError, match="--relay"):
        parse_bool("relay", "maybe")


def test_every_true_false_option_of_node_may_stand_bare() -> None:
    """``--web`` alone means ``--web=true``, as ``--rest`` does: every node option written
    ``true|false`` is in BOOLEAN_FLAGS (``--web`` was missing, so ``--chat --web --data-dir D``
    read ``--data-dir`` as --web's value)."""
    import typer.main

    from pystatus.cli.main import app
    from pystatus.cli.nwaku_args import _UNSUPPORTED_BOOLEANS, BOOLEAN_FLAGS

    group = typer.main.get_command(app)
    node = group.commands["node"]  # type: ignore[attr-defined]
    flags = {
        name[2:]
        for param in node.params
        if getattr(param, "metavar", None) == "true|false"
        for name in param.opts
        if name.startswith("--")
    }
    assert flags, "the node command's true|false options were not found"
    assert flags - BOOLEAN_FLAGS - _UNSUPPORTED_BOOLEANS == set()
    assert normalize(["--chat", "--web", "--data-dir", "d"])[:2] == ["--chat=true", "--web=true"]
