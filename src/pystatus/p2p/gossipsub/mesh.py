"""A topic's mesh maintenance at each heartbeat, as a plan: whom to GRAFT and whom to PRUNE.

gossipsub-v1.0.md "Mesh Maintenance" with v1.1's changes ("Mesh Maintenance with Scores":
negative scores out, ``d_score`` best kept, ``d_out`` outbound kept, opportunistic grafting).
The router applies the plan (score bookkeeping, control messages, back-offs).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pystatus.p2p.gossipsub.events import PeerKey
from pystatus.p2p.gossipsub.params import GossipsubParams


@dataclass(slots=True)
class MeshPlan:
    graft: list[PeerKey] = field(default_factory=list)
    prune: list[PeerKey] = field(default_factory=list)
    """Pruned for a negative score: no peer exchange."""
    prune_px: list[PeerKey] = field(default_factory=list)
    """Pruned because the mesh was over ``d_high``: with peer exchange."""


def maintain_mesh(
    mesh: set[PeerKey],
    topic_peers: Iterable[PeerKey],
    scores: dict[PeerKey, float],
    *,
    outbound: Callable[[PeerKey], bool],
    may_graft: Callable[[PeerKey], bool],
    params: GossipsubParams,
    rng: random.Random,
    opportunistic: bool,
) -> MeshPlan:
    """Bring ``mesh`` (changed in place) within bounds; ``topic_peers`` are the peers that
    announced the topic, ``may_graft(peer)`` says no back-off holds it, ``opportunistic`` that
    this heartbeat is one for opportunistic grafting."""
    plan = MeshPlan()
    for peer in [p for p in mesh if scores.get(p, 0.0) < 0]:
        mesh.discard(peer)
        plan.prune.append(peer)
    candidates = [
        p for p in topic_peers if p not in mesh and may_graft(p) and scores.get(p, 0.0) >= 0
    ]
    if len(mesh) < params.d_low:
        rng.shuffle(candidates)
        for peer in candidates[: params.d - len(mesh)]:
            mesh.add(peer)
            plan.graft.append(peer)
    elif len(mesh) > params.d_high:
        ranked = sorted(mesh, key=lambda p: scores.get(p, 0.0), reverse=True)
        keep = ranked[: params.d_score]
        rest = ranked[params.d_score :]
        rng.shuffle(rest)
        keep += rest[: params.d - len(keep)]
        kept_outbound = [p for p in keep if outbound(p)]
        if len(kept_outbound) < params.d_out:
            spare = [p for p in ranked if p not in keep and outbound(p)]
            for peer in spare[: params.d_out - len(kept_outbound)]:
                dropped = next(p for p in reversed(keep) if not outbound(p))
                keep[keep.index(dropped)] = peer
        for peer in mesh - set(keep):
            mesh.discard(peer)
            plan.prune_px.append(peer)
    outbound_count = sum(1 for p in mesh if outbound(p))
    if len(mesh) >= params.d_low and outbound_count < params.d_out:
        spare = [p for p in candidates if p not in mesh and outbound(p)]
        for peer in spare[: params.d_out - outbound_count]:
            mesh.add(peer)
            plan.graft.append(peer)
    if opportunistic and len(mesh) > 1:
        ordered = sorted(scores.get(p, 0.0) for p in mesh)
        median = ordered[len(ordered) // 2]
        if median < params.opportunistic_graft_threshold:
            better = [p for p in candidates if p not in mesh and scores.get(p, 0.0) > median]
            for peer in better[: params.opportunistic_graft_peers]:
                mesh.add(peer)
                plan.graft.append(peer)
    return plan
