"""nwaku's command-line syntax, so scripts written for nwaku run unchanged.

nwaku (nim-confutils) accepts ``--flag=value``, ``--flag:value`` and ``--flag value``, and a bare
boolean flag means true. This rewrites such arguments into one form the CLI parses, and refuses
nwaku flags for features pystatus lacks with a message naming them (``=false`` is accepted: it
asks for nothing).
"""

from __future__ import annotations

import re

BOOLEAN_FLAGS = frozenset(
    {
        "relay",
        "websocket-support",
        "rest",
        "rest-admin",
        "store",
        "store-resume",
        "filter",
        "lightpush",
        "peer-exchange",
        "metrics-server",
        "metrics-logging",
        "relay-peer-exchange",
        "chat",
        "dns-discovery",
        "peer-persistence",
        "peer-log",
        "web",
        "discv5-discovery",
        "discv5-enr-auto-update",
    }
)

# nwaku features pystatus does not implement yet, by flag.
UNSUPPORTED_FLAGS = {
    "rln-relay": "RLN relay",
    "websocket-secure-support": "secure WebSocket (put a TLS proxy in front)",
}
_UNSUPPORTED_BOOLEANS = frozenset(
    {
        "rln-relay",
        "websocket-secure-support",
    }
)
_FALSE = frozenset({"false", "0", "no", "off"})


class UnsupportedFlag(ValueError):
    pass


def normalize(args: list[str]) -> list[str]:
    """Rewrite nwaku-style arguments; raise :class:`UnsupportedFlag` for missing features."""
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("--") or arg == "--":
            out.append(arg)
            continue
        name, separator, value = arg[2:].partition("=")
        if not separator and ":" in name:
            name, _, value = name.partition(":")
            separator = "="
        if name in UNSUPPORTED_FLAGS:
            if name in _UNSUPPORTED_BOOLEANS and separator and value.lower() in _FALSE:
                continue
            raise UnsupportedFlag(
                f"--{name}: pystatus does not implement {UNSUPPORTED_FLAGS[name]} yet"
            )
        if name in BOOLEAN_FLAGS and not separator:
            follower = args[index] if index < len(args) else ""
            if follower.lower() in {"true", "false"}:
                value, separator = follower, "="
                index += 1
            else:
                value, separator = "true", "="
        out.append(f"--{name}={value}" if separator else f"--{name}")
    return out


def parse_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"--{name} takes true or false, not {text!r}")


# nwaku's parseMsgSize (waku/common/utils/parse_size_units.nim): a number with "." or "," as the
# decimal mark, optional spaces, then B, KB (1000) or KiB (1024), any case. MB and MiB are
# accepted here too.
_SIZE = re.compile(r"\s*(\d+(?:[.,]\d*)?)\s*([kKmM]?[iI]?[bB])")
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


def parse_size(name: str, text: str) -> int:
    """A size such as ``150KiB``, ``1MiB`` or ``1048576 B``, in bytes."""
    match = _SIZE.fullmatch(text)
    unit = match[2].lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"--{name} takes a size such as 150KiB or 1MiB, not {text!r}")
    return int(float(match[1].replace(",", ".")) * _SIZE_UNITS[unit])
