// A js-waku light node (@waku/sdk createLightNode) driven by the interop tests: filter
// subscriptions, light push and store against a service node. JSON lines in (commands), JSON
// lines out (replies). Node needs its transports given explicitly; --transport ws uses
// WebSocket with mplex only, as browsers do.
import { createLightNode, createDecoder, createEncoder, Protocols } from '@waku/sdk'
import { createRoutingInfo } from '@waku/utils'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { all as allFilters } from '@libp2p/websockets/filters'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { multiaddr } from '@multiformats/multiaddr'
import { wakuPeerExchangeDiscovery } from '@waku/discovery'
import { out, serveCommands } from './json_lines.mjs'

const args = { cluster: '1', shards: '8', transport: 'tcp' }
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const networkConfig = { clusterId: Number(args.cluster), numShardsInCluster: Number(args.shards) }

const libp2p = args.transport === 'ws'
  ? { transports: [webSockets({ filter: allFilters })], streamMuxers: [mplex()] }
  : { transports: [tcp()], streamMuxers: [yamux(), mplex()] }
// --px 1: discover peers by peer exchange from the service nodes dialed.
if (args.px === '1') libp2p.peerDiscovery = [wakuPeerExchangeDiscovery()]
const node = await createLightNode({ defaultBootstrap: false, networkConfig, libp2p })
const discovered = new Map() // peer id -> multiaddrs, as peer exchange reported them
node.libp2p.addEventListener('peer:discovery', (event) => {
  discovered.set(event.detail.id.toString(), event.detail.multiaddrs.map(String))
})
await node.start()
out({ event: 'ready', peerId: node.libp2p.peerId.toString(), addrs: [] })

const routing = (contentTopic) => createRoutingInfo(networkConfig, { contentTopic })
const received = new Map() // content topic -> [{ hash, payloadHex, pubsubTopic, timestamp }]

const commands = {
  async dial (params) {
    const protocols = (params.protocols ?? ['Filter', 'LightPush', 'Store']).map((p) => Protocols[p])
    if (protocols.length === 0) {
      await node.libp2p.dial(multiaddr(params.addr))
      return {}
    }
    await node.dial(multiaddr(params.addr), protocols)
    await node.waitForPeers(protocols, 20000)
    return {}
  },
  async subscribe (params) {
    const decoder = createDecoder(params.contentTopic, routing(params.contentTopic))
    received.set(params.contentTopic, received.get(params.contentTopic) ?? [])
    const ok = await node.filter.subscribe(decoder, (message) => {
      received.get(params.contentTopic).push({
        hash: hex(message.hash),
        payloadHex: hex(message.payload),
        pubsubTopic: message.pubsubTopic
      })
    })
    if (!ok) throw new Error('filter subscription failed')
    return {}
  },
  async unsubscribe (params) {
    const decoder = createDecoder(params.contentTopic, routing(params.contentTopic))
    return { ok: await node.filter.unsubscribe(decoder) }
  },
  async received (params) {
    return { messages: received.get(params.contentTopic) ?? [] }
  },
  async push (params) {
    const encoder = createEncoder({ contentTopic: params.contentTopic, routingInfo: routing(params.contentTopic) })
    const result = await node.lightPush.send(
      encoder,
      { payload: Buffer.from(params.payloadHex, 'hex') },
      { useLegacy: Boolean(params.legacy), autoRetry: false }
    )
    return {
      successes: result.successes.map(String),
      failures: result.failures.map((f) => String(f.error))
    }
  },
  async query (params) {
    const decoder = createDecoder(params.contentTopic, routing(params.contentTopic))
    const messages = []
    for await (const page of node.store.queryGenerator([decoder], { paginationForward: true })) {
      for (const pending of page) {
        const message = await pending
        if (message) messages.push({ hash: hex(message.hash), payloadHex: hex(message.payload) })
      }
    }
    return { messages }
  },
  async discovered () {
    return { peers: Object.fromEntries(discovered) }
  },
  async stop () {
    await node.stop()
    return {}
  }
}

await serveCommands(commands)
