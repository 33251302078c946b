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
