"""Building the node's configuration from ``pystatus node``'s flags: the pieces that read
one flag or a few, each raising :class:`~pystatus.errors.ConfigError` for a bad value."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pystatus.archive.retention import RetentionPolicy
from pystatus.chat.topics import DEFAULT_SHARD, NON_PROTECTED_SHARD, STATUS_CLUSTER
from pystatus.cli import nwaku_args
from pystatus.cli.account import account_directory
from pystatus.errors import ConfigError
from pystatus.node.config import LightChatConfig, NodeConfig, StoreConfig, default_data_dir
from pystatus.node.datadir import DataDir, lock_data_dir, use_private_umask
from pystatus.node.peer_log_store import PEER_LOG_FILE
from pystatus.node.presets import Preset
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.enr import Enr
from pystatus.waku.rate_limit import ProtocolRateLimits, RateLimitedProtocol

if TYPE_CHECKING:
    from pystatus.web.server import WebConfig


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


def _web_config(web: bool, chat: bool, address: str, port: int) -> WebConfig | None:
    """``--web`` serves the browser client of the ``--chat`` account (issue 18)."""
    if not web:
        return None
    if not chat:
        raise ConfigError("--web needs --chat: the web client chats as the node's account")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--web-port {port} is not a port")
    # Imported here: the web server brings FastAPI, which the other commands do without.
    from pystatus.web.server import WebConfig

    return WebConfig(address=address, port=port)


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


def _discv5_bootstrap(texts: list[str] | None, network: Preset | None) -> tuple[Enr, ...]:
    """``--discv5-bootstrap-node`` records, else the preset's (status-go's fleet
    ``DiscV5BootstrapNodes``). Raises :class:`~pystatus.waku.enr.InvalidEnr` for a bad one."""
    if not texts and network is not None:
        texts = list(network.discv5_bootstrap_nodes)
    return tuple(Enr.from_text(text) for text in texts or ())


def _node_data_dir(
    data_dir: str | None,
    chat: bool,
    store: StoreConfig | None,
    store_db_url: str | None,
    *,
    web: bool = False,
) -> DataDir | None:
    """The data dir the node keeps files in, locked for this process; None when it keeps
    none: no --data-dir, no --chat and no archive in the default place, as an nwaku node
    without --nodekey (several such nodes then run side by side, each with a new peer id).

    Raises DataDirInUse or DataDirUnusable; with ``chat`` and no ``web`` client (whose first
    screen makes an account) a missing data dir raises DataDirMissing, saying how to make an
    account, and nothing (node key, lock file) is made there.
    """
    if data_dir is None and not chat and (store is None or store_db_url is not None):
        return None
    if chat and not web:
        account_directory(Path(data_dir) if data_dir else None, create=False)
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


def _peer_log_path(
    enabled: bool | None, config: NodeConfig, held: DataDir | None, *, chat: bool = False
) -> Path | None:
    """Where ``--peer-log`` records connections: ``<data dir>/peer_log.sqlite3``, on by
    default for relay and store nodes (those whose peers are users), off with
    ``--peer-log=false``. A ``--chat`` node is a person's, not an operator's: it records
    nobody unless asked. Without a data dir nothing is recorded, and asking for it is a
    ConfigError."""
    operator = (config.relay or config.store is not None) and not chat
    wanted = enabled if enabled is not None else operator
    if not wanted:
        return None
    if held is None:
        if enabled:
            raise ConfigError("--peer-log keeps its log in the data dir: give --data-dir")
        return None
    return held.path / PEER_LOG_FILE
