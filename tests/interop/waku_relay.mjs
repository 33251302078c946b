// The js side of a Waku relay as the interop tests and benchmarks run it: gossipsub from
// @chainsafe/libp2p-gossipsub configured as 11/WAKU2-RELAY (npm's @waku/relay stops at libp2p
// 1.x). Call useRelayCodec(node) after createLibp2p({ start: false }) and before node.start().
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { createHash } from 'node:crypto'

export const RELAY_CODEC = '/vac/waku/relay/2.0.0'

export function wakuGossipsub () {
  return gossipsub({
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (message) => createHash('sha256').update(message.data).digest(),
    fallbackToFloodsub: false,
    emitSelf: false,
    allowPublishToZeroTopicPeers: true,
    // Waku's mesh degree (11/WAKU2-RELAY): D 6, Dlow 4, Dhigh 8.
    D: 6,
    Dlo: 4,
    Dhi: 8,
    heartbeatInterval: 1000,
    maxInboundDataLength: 4 * 1024 * 1024
  })
}

export function useRelayCodec (node) {
  // gossipsub registers its protocol handlers on start, so this must come first.
  node.services.pubsub.multicodecs = [RELAY_CODEC]
}
