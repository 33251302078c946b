"""Injected faults on a link's frames, for testing reliability (sans-IO, seeded).

A :class:`LinkFaults` decides the fate of each frame arriving over one link: dropped,
delivered after a delay, delivered twice, or held back so that frames behind it overtake it.
Frames are whole protocol messages (the relay hands it each message a gossipsub RPC
carries), so a fault loses or reorders messages, never corrupts a byte stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

from pystatus.p2p.errors import P2PError

REORDER_HOLD = 0.05
"""Seconds a reordered frame is held back, so that the next frames pass it."""


class InvalidFaultPlan(P2PError):
    """A fault plan that does not parse or holds impossible values."""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    loss: float = 0.0
    """Probability that a frame is dropped."""
    duplicate: float = 0.0
    """Probability that a frame is delivered twice."""
    delay: float = 0.0
    """Mean extra delay in seconds (drawn uniformly from 0 to twice this)."""
    reorder: float = 0.0
    """Probability that a frame is held back behind the ones after it."""
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidFaultPlan(f"{name} is a probability between 0 and 1")
        if self.delay < 0:
            raise InvalidFaultPlan("delay cannot be negative")

    @property
    def active(self) -> bool:
        return any((self.loss, self.duplicate, self.delay, self.reorder))

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """``"loss=0.2,delay=0.05,duplicate=0.01,reorder=0.05,seed=7"``."""
        known = {f.name for f in fields(cls)}
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            if name not in known or not value:
                raise InvalidFaultPlan(f"unknown fault {item!r} (known: {sorted(known)})")
            try:
                values[name] = int(value) if name == "seed" else float(value)
            except ValueError:
                raise InvalidFaultPlan(f"{name} needs a number, not {value!r}") from None
        return cls(**values)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return ",".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) not in (None, 0.0)
        )


@dataclass(slots=True)
class FaultCounts:
    frames: int = 0
    dropped: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0


class LinkFaults:
    def __init__(self, plan: FaultPlan, rng: random.Random | None = None) -> None:
        self.plan = plan
        self._rng = rng or random.Random(plan.seed)
        self.counts = FaultCounts()

    def apply(self, frame: bytes) -> list[tuple[float, bytes]]:
        """(delay in seconds, frame) for each delivery of ``frame``; empty when dropped."""
        plan, rng, counts = self.plan, self._rng, self.counts
        counts.frames += 1
        if plan.loss and rng.random() < plan.loss:
            counts.dropped += 1
            return []
        delay = rng.uniform(0, 2 * plan.delay) if plan.delay else 0.0
        if delay:
            counts.delayed += 1
        if plan.reorder and rng.random() < plan.reorder:
            counts.reordered += 1
            delay += REORDER_HOLD
        out = [(delay, frame)]
        if plan.duplicate and rng.random() < plan.duplicate:
            counts.duplicated += 1
            out.append((delay + rng.uniform(0, REORDER_HOLD), frame))
        return out
