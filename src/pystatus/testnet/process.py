"""One ``pystatus node`` process of a testnet: started, killed (SIGKILL) and restarted with the
same identity, ports and data, and spoken to over its REST API and metrics endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pystatus.errors import PystatusError
from pystatus.p2p.crypto.keys import load_nodekey
from pystatus.p2p.peer_id import PeerId

START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 20.0


class NodeProcessError(PystatusError):
    """A testnet node did not start, answer or stop as expected."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class NodeSpec:
    name: str
    nodekey: str
    tcp_port: int
    rest_port: int
    metrics_port: int
    data_dir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def multiaddr_prefix(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.tcp_port}/p2p/"

    @property
    def multiaddr(self) -> str:
        """Where the node listens, known from its node key before its process runs (so
        nodes naming each other as ``--staticnode`` can start together)."""
        peer = PeerId.from_public_key(load_nodekey(self.nodekey).public_key)
        return self.multiaddr_prefix + str(peer)


class NodeProcess:
    def __init__(self, spec: NodeSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.peer_id = ""
        self.incarnation = 0
        self._client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{spec.rest_port}", timeout=REQUEST_TIMEOUT
        )
        # Counters of earlier incarnations (killed processes lose theirs), and the last read.
        self._banked: defaultdict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(
            float
        )
        self._latest: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def multiaddr(self) -> str:
        return self.spec.multiaddr_prefix + self.peer_id

    async def start(self) -> None:
        spec = self.spec
        command = [
            sys.executable,
            "-m",
            "pystatus.cli.main",
            "node",
            f"--nodekey={spec.nodekey}",
            "--listen-address=127.0.0.1",
            f"--tcp-port={spec.tcp_port}",
            "--rest=true",
            "--rest-admin=true",
            f"--rest-port={spec.rest_port}",
            "--metrics-server=true",
            f"--metrics-server-port={spec.metrics_port}",
            f"--data-dir={spec.data_dir}",
            *spec.args,
        ]
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, **spec.env},
        )
        log.close()
        self.incarnation += 1
        await self._wait_started()

    async def _wait_started(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        lines: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while True:
                    line = (await self.process.stdout.readline()).decode(errors="replace")
                    if not line:
                        raise NodeProcessError(
                            f"{self.spec.name} exited while starting: {''.join(lines)[-500:]}"
                        )
                    lines.append(line)
                    if line.startswith("pystatus ") and " peer id " in line:
                        self.peer_id = line.split(" peer id ")[1].strip()
                    if line.startswith("REST API on"):
                        break
        except TimeoutError:
            await self.kill()
            raise NodeProcessError(
                f"{self.spec.name} did not start: {''.join(lines)[-500:]}"
            ) from None
        # Keep draining stdout so the process never blocks on a full pipe.
        asyncio.get_running_loop().create_task(self._drain(self.process))

    async def _drain(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        with self.log_path.open("ab") as log:
            while line := await process.stdout.readline():
                log.write(line)

    async def kill(self) -> None:
        """SIGKILL: nothing is flushed or closed."""
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        self._bank()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()
        await self._client.aclose()

    # -- REST ---------------------------------------------------------------------------------

    async def get(self, path: str, **params: object) -> object:
        response = await self._client.get(path, params=params)  # type: ignore[arg-type]
        if response.status_code != 200:
            raise NodeProcessError(f"{self.spec.name} GET {path}: {response.status_code}")
        return response.json()

    async def post(self, path: str, body: object) -> object:
        response = await self._client.post(path, json=body)
        if response.status_code != 200:
            raise NodeProcessError(f"{self.spec.name} POST {path}: {response.status_code}")
        return response.json()

    # -- metrics ------------------------------------------------------------------------------

    async def scrape(self) -> None:
        """Read the metrics endpoint; keeps the last values of this incarnation."""
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
            response = await client.get(f"http://127.0.0.1:{self.spec.metrics_port}/metrics")
        values = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name.endswith(("_created", "_bucket")):
                    continue
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        self._latest = values

    def _bank(self) -> None:
        for key, value in self._latest.items():
            self._banked[key] += value
        self._latest = {}

    def counter(self, name: str, **labels: str) -> float:
        """A counter summed over incarnations and over label values not given."""
        total = 0.0
        for source in (self._banked, self._latest):
            for (sample, sample_labels), value in source.items():
                if sample != name:
                    continue
                found = dict(sample_labels)
                if all(found.get(k) == v for k, v in labels.items()):
                    total += value
        return total

    def by_label(self, name: str, label: str, **labels: str) -> dict[str, float]:
        totals: defaultdict[str, float] = defaultdict(float)
        for source in (self._banked, self._latest):
            for (sample, sample_labels), value in source.items():
                found = dict(sample_labels)
                if sample == name and all(found.get(k) == v for k, v in labels.items()):
                    totals[found.get(label, "")] += value
        return dict(totals)

    def gauge(self, name: str) -> float:
        return sum(v for (sample, _), v in self._latest.items() if sample == name)
