"""`pystatus enrtree build|resolve`: publish a node list in DNS (EIP-1459), and read one back.

``build`` signs a tree of ENRs (and links to other trees) with the key in ``--key-file`` and
writes it as a zone file to load into a DNS server, printing the tree's ``enrtree://`` URL,
which nodes then take as ``--dns-discovery-url``. Raise ``--seq`` each time the list changes:
nodes refuse a root older than one they read. ``resolve`` reads a tree as a node would.

Exit codes: 0 success, 1 runtime failure (a file that cannot be read or written, a tree that
cannot be read), 2 usage error (a bad key, record or URL).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pystatus.cli.exits import EXIT_FAILURE, EXIT_USAGE, error_line
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.datadir import os_error_text
from pystatus.p2p.crypto.keys import load_nodekey
from pystatus.waku.dns_discovery import DnsDiscovery, zone_text
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import Link, build_tree
from pystatus.waku.errors import WakuProtocolError

enrtree_app = typer.Typer(help="Node lists in DNS (EIP-1459 ENR trees).", no_args_is_help=True)
errors = Console(stderr=True, soft_wrap=True)  # an error is one line, never wrapped


def _read_records(enrs: list[str], enr_file: Path | None) -> list[Enr]:
    texts = list(enrs)
    if enr_file is not None:
        texts += [line.strip() for line in enr_file.read_text().splitlines() if line.strip()]
    if not texts:
        raise ConfigError("no records: give ENRs as arguments or in --enr-file, one per line")
    return [Enr.from_text(text) for text in texts]


@enrtree_app.command()
def build(
    domain: Annotated[str, typer.Option(help="Domain the tree is published under")],
    key_file: Annotated[
        Path, typer.Option(help="File holding the tree's signing key, 64 hex characters")
    ],
    enrs: Annotated[list[str] | None, typer.Argument(help="enr:... records")] = None,
    enr_file: Annotated[Path | None, typer.Option(help="File of enr:... records")] = None,
    link: Annotated[
        list[str] | None, typer.Option(help="enrtree:// URL of another tree (repeatable)")
    ] = None,
    seq: Annotated[int, typer.Option(min=0, help="Sequence number; raise it on each change")] = 1,
    output: Annotated[
        Path | None, typer.Option(help="Write the zone file here instead of stdout")
    ] = None,
) -> None:
    """Sign a tree of ENRs and write it as a zone file; print its enrtree:// URL."""
    try:
        try:
            key = load_nodekey(key_file.read_text())
        except ConfigError:
            raise ConfigError(f"--key-file {key_file}: not 64 hexadecimal characters") from None
        records = _read_records(enrs or [], enr_file)
        links = [Link.from_url(url) for url in link or []]
        url, txt = build_tree(key, domain, records, links, seq=seq)
        zone = zone_text(url.domain, txt)
    except OSError as exc:
        error_line(errors, os_error_text(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    except (ConfigError, WakuProtocolError) as exc:
        error_line(errors, str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    try:
        if output is None:
            print(zone, end="")
        else:
            output.write_text(zone)
    except OSError as exc:
        error_line(errors, os_error_text(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    errors.print(f"{len(records)} records, seq {seq}: {url.to_url()}", highlight=False)


@enrtree_app.command()
def resolve(
    url: Annotated[str, typer.Argument(help="enrtree://<key>@<domain>")],
    name_server: Annotated[
        list[str] | None,
        typer.Option(help="DNS server IP or [IP]:port (repeatable; 1.1.1.1 and 1.0.0.1)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
) -> None:
    """Read a tree (and the trees it links to) and print its records."""
    try:
        discovery = DnsDiscovery([url], name_server or ())
    except PystatusError as exc:
        error_line(errors, str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    records = asyncio.run(discovery.resolve())
    seq = discovery.seq(discovery.links[0].domain)
    if seq is None:
        error_line(errors, f"no valid tree at {discovery.links[0].domain} (see the log above)")
        raise typer.Exit(EXIT_FAILURE)
    if json_output:
        found = [
            {
                "enr": r.to_text(),
                "peerId": str(r.peer_id),
                "addrs": [str(a) for a in r.dial_addrs()],
            }
            for r in records
        ]
        print(json.dumps({"seq": seq, "records": found}, indent=2))
        return
    for record in records:
        addrs = " ".join(str(a) for a in record.dial_addrs()) or "(no address)"
        print(f"{record.peer_id}  {addrs}")
    errors.print(f"{len(records)} records, seq {seq}", highlight=False)
