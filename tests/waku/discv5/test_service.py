"""discv5 over real UDP on loopback: 20 services and one bootstrap node find each other."""

from __future__ import annotations

import asyncio
import functools

import pytest

from pystatus.errors import ConfigError
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.filter import WakuEnrFilter
from pystatus.waku.discv5.service import Discv5Service
from pystatus.waku.enr import Capabilities, Enr

LOOPBACK = ("127.0.0.1", 0)
FAST = Discv5Config(refresh_interval=1.0, revalidate_interval=1.0)


async def test_twenty_services_find_each_other_from_one_bootstrap() -> None:
    boot = Discv5Service(Secp256k1PrivateKey.generate(), bind=LOOPBACK, config=FAST)
    await boot.start()
    found: dict[int, set[bytes]] = {}
    everyone_found = asyncio.Event()
    services: list[Discv5Service] = []

    def watcher(index: int) -> object:
        def on_found(record: Enr) -> None:
            found[index].add(record.to_bytes())
            if len(found) == 20 and all(len(f) >= 20 for f in found.values()):
                everyone_found.set()

        return on_found

    try:
        for index in range(20):
            found[index] = set()
            service = Discv5Service(
                Secp256k1PrivateKey.generate(),
                bind=LOOPBACK,
                bootstrap=[boot.local_enr],
                config=FAST,
                on_found=watcher(index),  # type: ignore[arg-type]
            )
            await service.start()
            services.append(service)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(everyone_found.wait(), 30)
        elapsed = loop.time() - started
        records = {s.local_enr.to_bytes() for s in [boot, *services]}
        for index, service in enumerate(services):
            assert found[index] == records - {service.local_enr.to_bytes()}
        print(f"20 services found each other in {elapsed:.2f} s")
    finally:
        for service in services:
            await service.stop()
        await boot.stop()


async def test_lookup_returns_filtered_records_and_found_iterates() -> None:
    cluster16 = WakuEnrFilter.of(16)

    def record(key: Secp256k1PrivateKey, ip: str, port: int, *, cluster: int) -> Enr:
        return Enr.build(
            key,
            ip=ip,
            udp=port,
            capabilities=Capabilities.RELAY,
            cluster_id=cluster,
            shards=[32],
        )

    boot = Discv5Service(Secp256k1PrivateKey.generate(), bind=LOOPBACK)
    await boot.start()
    others = []
    for cluster in (16, 1):
        key = Secp256k1PrivateKey.generate()
        service = Discv5Service(
            key,
            functools.partial(record, key, cluster=cluster),
            bind=LOOPBACK,
            bootstrap=[boot.local_enr],
        )
        await service.start()
        others.append(service)
    me = Discv5Service(
        Secp256k1PrivateKey.generate(),
        bind=LOOPBACK,
        bootstrap=[boot.local_enr],
        enr_filter=cluster16,
    )
    await me.start()
    try:
        wanted = others[0].local_enr

        async def first_found() -> Enr:
            async for found in me.found():
                return found
            raise AssertionError("unreachable")

        assert await asyncio.wait_for(first_found(), 10) == wanted
        every = await asyncio.wait_for(me.lookup(filtered=False), 10)
        kept = await asyncio.wait_for(me.lookup(), 10)
        assert others[1].local_enr in every or others[1].local_enr in me.table_records()
        assert others[1].local_enr not in kept
    finally:
        for service in [me, *others, boot]:
            await service.stop()


async def test_wildcard_bind_without_record_is_refused() -> None:
    service = Discv5Service(Secp256k1PrivateKey.generate(), bind=("0.0.0.0", 0))
    with pytest.raises(ConfigError):
        await service.start()
    await service.stop()
