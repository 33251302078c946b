"""`pystatus`: one command for the node and its tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pystatus import __version__, redaction
from pystatus.api.server import AsgiServer, MetricsServer, RestServer
from pystatus.archive.retention import RetentionPolicy
from pystatus.chat.account import Account
from pystatus.chat.messenger import (
    HISTORY_INTERVAL,
    Messenger,
    RelayTransport,
    ReliabilityConfig,
)
from pystatus.chat.topics import DEFAULT_SHARD, NON_PROTECTED_SHARD, STATUS_CLUSTER
from pystatus.chat.transport import Transport
from pystatus.cli import nwaku_args
from pystatus.cli.account import account_app, account_directory, password_or_prompt
from pystatus.cli.chat import chat_app
from pystatus.cli.enrtree import enrtree_app
from pystatus.cli.exits import EXIT_FAILURE, EXIT_USAGE, error_line, run_command
from pystatus.cli.store import store_app
from pystatus.cli.testnet import run_testnet
from pystatus.errors import ConfigError, PystatusError
from pystatus.node.config import (
    FilterConfig,
    LightChatConfig,
    MetricsConfig,
    NodeConfig,
    RestConfig,
    StoreConfig,
    default_data_dir,
)
from pystatus.node.datadir import (
    DataDir,
    lock_data_dir,
    os_error_text,
    use_private_umask,
)
from pystatus.node.light_chat import light_transport
from pystatus.node.node import WakuNode
from pystatus.node.peer_store import PEER_STORE_FILE
from pystatus.node.presets import Preset
from pystatus.node.presets import preset as find_preset
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey, load_nodekey
from pystatus.p2p.faults import FaultPlan
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.enr import Enr
from pystatus.waku.rate_limit import ProtocolRateLimits, RateLimitedProtocol

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
app.add_typer(enrtree_app, name="enrtree")
app.command(name="testnet")(run_testnet)
console = Console(stderr=True, soft_wrap=True)  # an error is one line, never wrapped
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "FATAL")


def _configure_logging(level: str) -> None:
    mapping = {"TRACE": logging.DEBUG, "NOTICE": logging.INFO, "WARN": logging.WARNING}
    numeric = mapping.get(level.upper(), getattr(logging, level.upper(), logging.INFO))
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install()


def _ext_ip(nat: str) -> str | None:
    if nat in ("", "any", "none", "upnp", "pmp"):
        return None
    if not nat.startswith("extip:"):
        raise ConfigError(f"--nat {nat!r} is not supported: use extip:IP, any or none")
    return nat.removeprefix("extip:")


def _flag(name: str, text: str) -> bool:
    try:
        return nwaku_args.parse_bool(name, text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _size(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return nwaku_args.parse_size(name, text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _store_config(
    enabled: bool,
    db_url: str | None,
    retention: str,
    resume: bool,
    data_dir: str | None,
    limits: ProtocolRateLimits,
) -> StoreConfig | None:
    if not enabled:
        return None
    directory = Path(data_dir) if data_dir else default_data_dir()
    limit = limits.setting(RateLimitedProtocol.STOREV3)
    return StoreConfig(
        db_url=db_url or f"sqlite:///{directory.absolute()}/store.sqlite3",
        retention=RetentionPolicy.parse(retention),
        resume=resume,
        peer_rate=limit.rate,
        peer_burst=max(limit.burst, 1.0),
    )


def _static_addr(text: str) -> Multiaddr:
    """A static node as a multiaddr, or as an ENR (then its first dialable address)."""
    if not text.startswith("enr:"):
        return Multiaddr.from_string(text)
    addrs = Enr.from_text(text).dial_addrs()
    if not addrs:
        raise ConfigError(f"--staticnode {text[:20]}...: the record has no TCP address")
    return addrs[0]


def _optional_addr(text: str | None) -> Multiaddr | None:
    return Multiaddr.from_string(text) if text else None


def _first_addr(texts: list[str] | None) -> Multiaddr | None:
    """The first of a repeated service node flag: the one the REST API and resume use."""
    return Multiaddr.from_string(texts[0]) if texts else None


def _light_chat(
    light: bool,
    staticnode: list[str] | None,
    *,
    filternode: list[str] | None,
    lightpushnode: list[str] | None,
    storenode: list[str] | None,
) -> LightChatConfig | None:
    """With ``--chat --relay=false``, the service nodes the chat uses as a light client: those
    named, each kind defaulting to the ``--staticnode`` s (raises ConfigError)."""
    if not light:
        return None
    static = tuple(_static_addr(text) for text in staticnode or [])

    def named(texts: list[str] | None) -> tuple[Multiaddr, ...]:
        if not texts:
            return static
        return tuple(dict.fromkeys(Multiaddr.from_string(text) for text in texts))

    return LightChatConfig(
        filternodes=named(filternode),
        lightpushnodes=named(lightpushnode),
        storenodes=named(storenode),
    )


def _dns_discovery_urls(
    enabled: str | None, urls: list[str] | None, network: Preset | None
) -> tuple[str, ...]:
    """The trees to read: those given, else the preset's, unless ``--dns-discovery=false``
    (raises ConfigError for ``--dns-discovery=true`` without one)."""
    if enabled is not None and not _flag("dns-discovery", enabled):
        return ()
    urls = urls or (list(network.dns_discovery_urls) if network is not None else None)
    if enabled is not None and not urls:
        raise ConfigError("--dns-discovery needs --dns-discovery-url=enrtree://<key>@<domain>")
    return tuple(urls or ())


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
        if chat_history_interval <= 0:
            raise ConfigError("--chat-history-interval must be positive")
        reliability = ReliabilityConfig(history_interval=chat_history_interval)
        if network is not None and network.warning:
            console.print(f"[yellow]warning:[/yellow] {network.warning}", highlight=False)
    except PystatusError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        held = _node_data_dir(data_dir, _flag("chat", chat), config.store, store_message_db_url)
        if nodekey is None and held is not None:
            config = replace(config, identity=held.node_key())
        if held is not None and _flag("peer-persistence", peer_persistence):
            config = replace(config, peer_store_path=held.path / PEER_STORE_FILE)
        if held is not None:
            origin = "--nodekey" if nodekey else f"{held.path}/nodekey"
            print(f"data dir {held.path} (node key from {origin})", flush=True)
        elif nodekey is None:
            print("no data dir: a new node key for this run (--data-dir keeps one)", flush=True)
        account = None
        if _flag("chat", chat):
            directory = account_directory(Path(data_dir) if data_dir else None)
            account = Account.unlock(
                directory, password_or_prompt(os.environ.get("PYSTATUS_PASSWORD"), confirm=False)
            )
        asyncio.run(_run_node(config, account, reliability))
    except PystatusError as exc:
        error_line(console, str(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    except OSError as exc:  # a port taken, a file of the data dir that cannot be written
        error_line(console, os_error_text(exc))
        raise typer.Exit(EXIT_FAILURE) from None


def _node_data_dir(
    data_dir: str | None, chat: bool, store: StoreConfig | None, store_db_url: str | None
) -> DataDir | None:
    """The data dir the node keeps files in, locked for this process; None when it keeps
    none: no --data-dir, no --chat and no archive in the default place, as an nwaku node
    without --nodekey (several such nodes then run side by side, each with a new peer id).

    Raises DataDirInUse or DataDirUnusable.
    """
    if data_dir is None and not chat and (store is None or store_db_url is not None):
        return None
    use_private_umask()
    return lock_data_dir(Path(data_dir) if data_dir else default_data_dir())


def _cluster(cluster_id: int | None, chat: bool, network: Preset | None = None) -> int:
    if cluster_id is not None:
        return cluster_id
    if network is not None:
        return network.cluster_id
    return STATUS_CLUSTER if chat else 0


def _shards(
    cluster_id: int | None,
    shard: list[int] | None,
    pubsub_topic: list[str] | None,
    chat: bool,
    network: Preset | None = None,
) -> tuple[int, ...]:
    """A chat node on the Status cluster relays status-go's shards unless told otherwise; a
    preset's shards come with its cluster."""
    if shard or pubsub_topic:
        return tuple(shard or ())
    if network is not None and _cluster(cluster_id, chat, network) == network.cluster_id:
        return network.shards
    if not chat or _cluster(cluster_id, chat) != STATUS_CLUSTER:
        return ()
    return (DEFAULT_SHARD, NON_PROTECTED_SHARD)


async def _run_node(
    config: NodeConfig,
    account: Account | None = None,
    reliability: ReliabilityConfig | None = None,
) -> None:
    node = WakuNode(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    servers: list[AsgiServer] = []
    messenger: Messenger | None = None
    try:
        if account is not None:
            light = config.light_chat
            transport: Transport = (
                light_transport(node)
                if light is not None
                else RelayTransport(node.require_relay(), store=node.store_peer())
            )
            messenger = Messenger(account, transport, reliability=reliability)
        # The REST app is built before the messenger starts: its event log listens from the
        # first event on, since a restarted node acknowledges, resends and receives while
        # start() still awaits, and events told before anyone listened were lost to pollers.
        rest = RestServer(node, config.rest, messenger) if config.rest is not None else None
        if messenger is not None:
            await messenger.start()
            print(f"chatting as {messenger.chat_key}", flush=True)
            if light is not None:
                print(
                    f"as a light client of {len(light.filternodes)} filter, "
                    f"{len(light.lightpushnodes)} light push and {len(light.storenodes)} store "
                    "nodes",
                    flush=True,
                )
        metrics = MetricsServer(node, config.metrics) if config.metrics is not None else None
        for wanted in (rest, metrics):
            if wanted is not None:
                await wanted.start()
                servers.append(wanted)
        print(f"pystatus {__version__} peer id {node.peer_id}", flush=True)
        for addr in node.host.full_addrs():
            print(f"listening on {addr}", flush=True)
        print(f"enr {node.enr.to_text()}", flush=True)
        if node.relay is not None:
            print(f"relaying {' '.join(node.relay.topics)}", flush=True)
        if node.store is not None:
            print(f"archiving to {node.store.archive.url}", flush=True)
        if node.filter_server is not None:
            print("serving filter", flush=True)
        if config.lightpush:
            print("serving light push", flush=True)
        if rest is not None:
            print(f"REST API on {rest.url}", flush=True)
        if metrics is not None:
            print(f"metrics on {metrics.url}/metrics", flush=True)
        await stop.wait()
        print("shutting down", flush=True)
    finally:
        for server in servers:
            await server.stop()
        if messenger is not None:
            await messenger.stop()
        with contextlib.suppress(PystatusError, OSError):
            await node.stop()


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
    run_command(lambda: app(args), console)


if __name__ == "__main__":
    main()
