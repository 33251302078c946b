"""`pystatus`: one command for the node and its tools."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from pystatus import __version__, redaction
from pystatus.chat.account import KEYSTORE_FILE, Account
from pystatus.chat.messenger import (
    HISTORY_INTERVAL,
    ReliabilityConfig,
)
from pystatus.cli import community_messages as _community_messages  # noqa: F401  (its commands)
from pystatus.cli import nwaku_args
from pystatus.cli.account import account_app, account_directory, password_or_prompt
from pystatus.cli.chat import chat_app
from pystatus.cli.community import community_app
from pystatus.cli.enrtree import enrtree_app
from pystatus.cli.exits import EXIT_FAILURE, EXIT_USAGE, error_line, run_command
from pystatus.cli.group import group_app
from pystatus.cli.node_options import (
    _cluster,
    _discv5_bootstrap,
    _dns_discovery_urls,
    _ext_ip,
    _first_addr,
    _flag,
    _light_chat,
    _node_data_dir,
    _optional_addr,
    _peer_log_path,
    _shards,
    _size,
    _static_addr,
    _store_config,
    _web_config,
)
from pystatus.cli.node_run import run_node
from pystatus.cli.report import report_app
from pystatus.cli.simulate import run_simulate
from pystatus.cli.store import store_app
from pystatus.cli.testnet import run_testnet
from pystatus.cli.usage import invoke
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.config import (
    Discv5NodeConfig,
    FilterConfig,
    MetricsConfig,
    NodeConfig,
    RestConfig,
)
from pystatus.node.datadir import (
    os_error_text,
    use_private_umask,
)
from pystatus.node.peer_store import PEER_STORE_FILE
from pystatus.node.presets import preset as find_preset
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey, load_nodekey
from pystatus.p2p.faults import FaultPlan
from pystatus.waku.enr import Enr
from pystatus.waku.rate_limit import ProtocolRateLimits

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="pystatus",
    help="pystatus: Status messaging over Waku v2, in Python.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's locals would show passwords and keys; main() prints one line instead.
    pretty_exceptions_show_locals=False,
)
app.add_typer(store_app, name="store")
app.add_typer(account_app, name="account")
app.add_typer(chat_app, name="chat")
app.add_typer(group_app, name="group")
app.add_typer(community_app, name="community")
app.add_typer(enrtree_app, name="enrtree")
app.add_typer(report_app, name="report")
app.command(name="testnet")(run_testnet)
app.command(name="simulate")(run_simulate)
console = Console(stderr=True, soft_wrap=True)  # an error is one line, never wrapped
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "FATAL")


def _configure_logging(level: str) -> None:
    """Log pystatus's own records from ``level`` (nwaku's names: TRACE ... FATAL) on, and
    third-party libraries' (websockets, uvicorn, asyncio, ...) from WARNING on unless
    ``level`` is DEBUG or TRACE: their INFO lines ("connection open", "server closing" on
    every WebSocket peer) drowned the node's own output."""
    mapping = {"TRACE": logging.DEBUG, "NOTICE": logging.INFO, "WARN": logging.WARNING}
    numeric = mapping.get(level.upper(), getattr(logging, level.upper(), logging.INFO))
    others = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    logging.basicConfig(level=others, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(others)
    logging.getLogger("pystatus").setLevel(numeric)
    redaction.install()


@app.command()
def node(
    nodekey: Annotated[
        str | None, typer.Option(help="secp256k1 private key as 64 hex characters")
    ] = None,
    listen_address: Annotated[str, typer.Option(help="IP to listen on")] = "0.0.0.0",
    tcp_port: Annotated[int, typer.Option(help="TCP listening port")] = 60000,
    websocket_support: Annotated[
        str, typer.Option(metavar="true|false", help="Also listen for WebSocket")
    ] = "false",
    websocket_port: Annotated[int, typer.Option(help="WebSocket listening port")] = 8000,
    nat: Annotated[str, typer.Option(help="extip:IP announces IP instead of the bound one")] = (
        "any"
    ),
    staticnode: Annotated[
        list[str] | None, typer.Option(help="Multiaddr of a peer to keep connected (repeatable)")
    ] = None,
    relay: Annotated[str, typer.Option(metavar="true|false", help="Run Waku relay")] = "true",
    preset: Annotated[
        str | None,
        typer.Option(
            help="Join a network by name: twn, status.prod or status.staging (its cluster, "
            "shards, message size and DNS tree; flags given beside it win)"
        ),
    ] = None,
    cluster_id: Annotated[
        int | None,
        typer.Option(help="Waku network cluster (default 0; 16, the Status network, with --chat)"),
    ] = None,
    shard: Annotated[
        list[int] | None, typer.Option(help="Relay shard of the cluster (repeatable)")
    ] = None,
    pubsub_topic: Annotated[
        list[str] | None, typer.Option(help="Relay /waku/2/rs/<cluster>/<shard> (repeatable)")
    ] = None,
    content_topic: Annotated[
        list[str] | None,
        typer.Option(help="Relay the auto-shard of /app/version/name/encoding (repeatable)"),
    ] = None,
    num_shards_in_network: Annotated[
        int, typer.Option(help="Shards auto-sharding spreads content topics over")
    ] = 8,
    max_msg_size: Annotated[
        str | None,
        typer.Option(
            help="Largest Waku message, e.g. 150KiB or 1MiB (default 1MiB on cluster 16, the "
            "Status network; 150KiB elsewhere)"
        ),
    ] = None,
    max_connections: Annotated[int, typer.Option(help="Most connections at once")] = 300,
    relay_service_ratio: Annotated[
        str, typer.Option(help="<relay>:<service> shares of --max-connections")
    ] = "60:40",
    peer_persistence: Annotated[
        str, typer.Option(metavar="true|false", help="Keep peers in <data dir>/peers.sqlite3")
    ] = "true",
    peer_store_capacity: Annotated[int, typer.Option(help="Peers known at most")] = 1000,
    peer_log: Annotated[
        str | None,
        typer.Option(
            metavar="true|false",
            help="Record connections under salted peer ids in <data dir>/peer_log.sqlite3 for "
            "'pystatus report users' (on for relay and store nodes)",
        ),
    ] = None,
    rest: Annotated[str, typer.Option(metavar="true|false", help="Serve the REST API")] = "false",
    rest_address: Annotated[str, typer.Option(help="REST API address")] = "127.0.0.1",
    rest_port: Annotated[int, typer.Option(help="REST API port")] = 8645,
    rest_admin: Annotated[
        str, typer.Option(metavar="true|false", help="Enable the admin REST API")
    ] = "false",
    rest_relay_cache_capacity: Annotated[
        int, typer.Option(help="Messages kept per topic for GET /relay/v1/messages")
    ] = 50,
    store: Annotated[
        str, typer.Option(metavar="true|false", help="Archive relayed messages, serve store")
    ] = "false",
    store_message_db_url: Annotated[
        str | None,
        typer.Option(help="sqlite:///path (default under the data dir) or postgres://..."),
    ] = None,
    store_message_retention_policy: Annotated[
        str, typer.Option(help="time:<seconds>, capacity:<count> or size:<n>GB|MB")
    ] = "time:172800",
    store_resume: Annotated[
        str, typer.Option(metavar="true|false", help="On start, fetch what was missed")
    ] = "true",
    storenode: Annotated[
        list[str] | None,
        typer.Option(
            help="Multiaddr of a store peer for queries and resume (repeatable: a light-client "
            "chat fails over to the next)"
        ),
    ] = None,
    data_dir: Annotated[str | None, typer.Option(help="Where the node keeps its files")] = None,
    filter: Annotated[
        str, typer.Option(metavar="true|false", help="Serve filter v2 to light clients")
    ] = "false",
    filter_subscription_timeout: Annotated[
        float, typer.Option(help="Seconds a silent filter subscriber is kept")
    ] = 300.0,
    filter_max_peers_to_serve: Annotated[int, typer.Option(help="Most filter subscribers")] = 1000,
    filter_max_criteria: Annotated[
        int, typer.Option(help="Most (pubsub, content topic) pairs per subscriber")
    ] = 1000,
    lightpush: Annotated[
        str, typer.Option(metavar="true|false", help="Serve light push v3 and v2")
    ] = "false",
    peer_exchange: Annotated[
        str, typer.Option(metavar="true|false", help="Answer peer exchange requests")
    ] = "false",
    peer_exchange_node: Annotated[
        str | None, typer.Option(help="Multiaddr of a peer to ask for more peers")
    ] = None,
    dns_discovery: Annotated[
        str | None,
        typer.Option(
            metavar="true|false",
            help="Dial the nodes listed in the --dns-discovery-url trees (on by giving one)",
        ),
    ] = None,
    dns_discovery_url: Annotated[
        list[str] | None,
        typer.Option(help="enrtree://<key>@<domain>: a node list in DNS, EIP-1459 (repeatable)"),
    ] = None,
    dns_discovery_name_server: Annotated[
        list[str] | None,
        typer.Option(
            help="DNS server IP, [IP]:port for another port (repeatable; 1.1.1.1 and 1.0.0.1 "
            "unless given)"
        ),
    ] = None,
    discv5_discovery: Annotated[
        str, typer.Option(metavar="true|false", help="Find peers with discv5 (33/WAKU2-DISCV5)")
    ] = "false",
    discv5_udp_port: Annotated[int, typer.Option(help="discv5 UDP port (0 picks one)")] = 9000,
    discv5_bootstrap_node: Annotated[
        list[str] | None, typer.Option(help="enr:... of a discv5 bootstrap node (repeatable)")
    ] = None,
    discv5_enr_auto_update: Annotated[
        str,
        typer.Option(
            metavar="true|false", help="Our record follows the address discv5 peers see us at"
        ),
    ] = "false",
    filternode: Annotated[
        list[str] | None,
        typer.Option(
            help="Multiaddr of a filter service node for REST /filter/v2, or for --chat with "
            "--relay=false (repeatable: the chat subscribes at two and fails over)"
        ),
    ] = None,
    lightpushnode: Annotated[
        list[str] | None,
        typer.Option(
            help="Multiaddr of a light push service node for REST /lightpush, or for --chat "
            "with --relay=false (repeatable: the chat fails over to the next)"
        ),
    ] = None,
    metrics_server: Annotated[
        str, typer.Option(metavar="true|false", help="Serve Prometheus metrics")
    ] = "false",
    metrics_server_address: Annotated[str, typer.Option(help="Metrics address")] = "127.0.0.1",
    metrics_server_port: Annotated[int, typer.Option(help="Metrics port")] = 8008,
    metrics_logging: Annotated[
        str,
        typer.Option(
            metavar="true|false",
            help="With --metrics-server, log a summary of the metrics every 10 minutes",
        ),
    ] = "true",
    relay_peer_exchange: Annotated[
        str,
        typer.Option(
            metavar="true|false",
            help="nwaku's gossipsub peer exchange: accepted for nwaku's scripts, and a no-op "
            "here (a PRUNE names other mesh peers, but peers named to this node are not "
            "dialled: they come without signed records)",
        ),
    ] = "false",
    chat: Annotated[
        str,
        typer.Option(
            metavar="true|false",
            help="Chat as the account in the data dir (REST /chat/v1; PYSTATUS_PASSWORD)",
        ),
    ] = "false",
    web: Annotated[
        str,
        typer.Option(
            metavar="true|false", help="With --chat, serve the web client (a browser's chat)"
        ),
    ] = "false",
    web_address: Annotated[str, typer.Option(help="Web client address")] = "127.0.0.1",
    web_port: Annotated[int, typer.Option(help="Web client port")] = 8646,
    chat_history_interval: Annotated[
        float,
        typer.Option(help="Seconds between asking --storenode for chat messages we missed"),
    ] = HISTORY_INTERVAL,
    relay_faults: Annotated[
        str,
        typer.Option(
            help="Testing only: faults on incoming relay links, e.g. loss=0.2,delay=0.05,"
            "duplicate=0.01,reorder=0.05,seed=1"
        ),
    ] = "",
    rate_limit: Annotated[
        list[str] | None,
        typer.Option(
            help="Request limit as nwaku's [protocol:]volume/period<h|m|s|ms>, protocol one of "
            "store, storev2, storev3, lightpush, px, filter (none: every protocol not named), "
            "e.g. store:100/1s (repeatable). Unlimited unless given, but filter: 30/1m per peer"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="TRACE DEBUG INFO NOTICE WARN ERROR")] = "INFO",
) -> None:
    """Run a Waku node: relay, metadata, identify and ping, and the REST API with --rest.

    Flags follow nwaku's names and syntax (--relay=true, --shard=3 repeated). Ctrl-C stops it.
    """
    _configure_logging(log_level)
    try:
        if nodekey:
            redaction.register_secret(nodekey.removeprefix("0x").lower())
        # Without --nodekey the key kept in the data dir replaces this one once it is locked.
        identity = load_nodekey(nodekey) if nodekey else Secp256k1PrivateKey.generate()
        rate_limits = ProtocolRateLimits.parse(rate_limit or ())
        network = find_preset(preset) if preset else None
        rest_config = (
            RestConfig(
                address=rest_address,
                port=rest_port,
                admin=_flag("rest-admin", rest_admin),
                relay_cache_capacity=rest_relay_cache_capacity,
            )
            if _flag("rest", rest)
            else None
        )
        light_chat = _light_chat(
            _flag("chat", chat) and not _flag("relay", relay),
            staticnode,
            filternode=filternode,
            lightpushnode=lightpushnode,
            storenode=storenode,
        )
        config = NodeConfig(
            identity=identity,
            listen_address=listen_address,
            tcp_port=tcp_port,
            websocket_support=_flag("websocket-support", websocket_support),
            websocket_port=websocket_port,
            ext_ip=_ext_ip(nat),
            static_nodes=tuple(_static_addr(text) for text in staticnode or []),
            known_enrs=tuple(Enr.from_text(t) for t in staticnode or [] if t.startswith("enr:")),
            relay=_flag("relay", relay),
            cluster_id=_cluster(cluster_id, _flag("chat", chat), network),
            shards=_shards(cluster_id, shard, pubsub_topic, _flag("chat", chat), network),
            pubsub_topics=tuple(pubsub_topic or ()),
            content_topics=tuple(content_topic or ()),
            num_shards_in_network=num_shards_in_network,
            max_message_size=(
                _size("max-msg-size", max_msg_size)
                if max_msg_size is not None or network is None
                else network.max_message_size
            ),
            max_connections=max_connections,
            relay_service_ratio=relay_service_ratio,
            peer_store_capacity=peer_store_capacity,
            rest=rest_config,
            store=_store_config(
                _flag("store", store),
                store_message_db_url,
                store_message_retention_policy,
                _flag("store-resume", store_resume),
                data_dir,
                rate_limits,
            ),
            storenode=_first_addr(storenode),
            filter=(
                FilterConfig(
                    max_peers_to_serve=filter_max_peers_to_serve,
                    max_criteria=filter_max_criteria,
                    subscription_timeout=filter_subscription_timeout,
                )
                if _flag("filter", filter)
                else None
            ),
            lightpush=_flag("lightpush", lightpush),
            peer_exchange=_flag("peer-exchange", peer_exchange),
            peer_exchange_node=_optional_addr(peer_exchange_node),
            dns_discovery_urls=_dns_discovery_urls(dns_discovery, dns_discovery_url, network),
            dns_discovery_name_servers=tuple(dns_discovery_name_server or ()),
            discv5=(
                Discv5NodeConfig(
                    udp_port=discv5_udp_port,
                    bootstrap=_discv5_bootstrap(discv5_bootstrap_node, network),
                    enr_auto_update=_flag("discv5-enr-auto-update", discv5_enr_auto_update),
                )
                if _flag("discv5-discovery", discv5_discovery)
                else None
            ),
            # A light-client chat pings its filter nodes itself: the node's keep-alive would
            # ping them a second time.
            filternode=None if light_chat is not None else _first_addr(filternode),
            lightpushnode=_first_addr(lightpushnode),
            light_chat=light_chat,
            metrics=(
                MetricsConfig(
                    address=metrics_server_address,
                    port=metrics_server_port,
                    logging=_flag("metrics-logging", metrics_logging),
                )
                if _flag("metrics-server", metrics_server)
                else None
            ),
            relay_faults=FaultPlan.parse(relay_faults) if relay_faults else None,
            rate_limits=rate_limits,
        )
        if _flag("relay-peer-exchange", relay_peer_exchange):
            logging.getLogger(__name__).warning(
                "--relay-peer-exchange: peers named in gossipsub PRUNEs are not dialled here; "
                "the flag changes nothing"
            )
        peer_log_wanted = _flag("peer-log", peer_log) if peer_log is not None else None
        if chat_history_interval <= 0:
            raise ConfigError("--chat-history-interval must be positive")
        reliability = ReliabilityConfig(history_interval=chat_history_interval)
        web_config = _web_config(_flag("web", web), _flag("chat", chat), web_address, web_port)
        if network is not None and network.warning:
            console.print(f"[yellow]warning:[/yellow] {network.warning}", highlight=False)
    except PystatusError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        held = _node_data_dir(
            data_dir, _flag("chat", chat), config.store, store_message_db_url, web=bool(web_config)
        )
        if nodekey is None and held is not None:
            config = replace(config, identity=held.node_key())
        if held is not None and _flag("peer-persistence", peer_persistence):
            config = replace(config, peer_store_path=held.path / PEER_STORE_FILE)
        config = replace(
            config,
            peer_log_path=_peer_log_path(peer_log_wanted, config, held, chat=_flag("chat", chat)),
        )
        if held is not None:
            origin = "--nodekey" if nodekey else f"{held.path}/nodekey"
            print(f"data dir {held.path} (node key from {origin})", flush=True)
        elif nodekey is None:
            print("no data dir: a new node key for this run (--data-dir keeps one)", flush=True)
        account: Account | Path | None = None
        if _flag("chat", chat):
            directory = account_directory(Path(data_dir) if data_dir else None)
            if web_config is not None and not (directory / KEYSTORE_FILE).exists():
                account = directory  # the web client's first screen creates it
            else:
                account = Account.unlock(
                    directory,
                    password_or_prompt(os.environ.get("PYSTATUS_PASSWORD"), confirm=False),
                )
        asyncio.run(run_node(config, account, reliability, web_config))
    except PystatusError as exc:
        error_line(console, str(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    except OSError as exc:  # a port taken, a file of the data dir that cannot be written
        error_line(console, os_error_text(exc))
        raise typer.Exit(EXIT_FAILURE) from None


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    """The `pystatus` command: exit code 0 on success, 1 on a runtime failure (one line on
    stderr), 2 on a usage error (see :mod:`pystatus.cli.exits`)."""
    use_private_umask()
    try:
        args = nwaku_args.normalize(sys.argv[1:])
    except nwaku_args.UnsupportedFlag as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(EXIT_USAGE) from None
    run_command(lambda: invoke(app, args, console), console)


if __name__ == "__main__":
    main()
