// A js-waku light node (@waku/sdk createLightNode) used as a store client by the interop
// tests. JSON lines in (commands), JSON lines out (replies). Node needs TCP given explicitly.
import { createLightNode, createDecoder, Protocols } from '@waku/sdk'
import { createRoutingInfo } from '@waku/utils'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { multiaddr } from '@multiformats/multiaddr'
import { out, serveCommands } from './json_lines.mjs'

const args = { cluster: '1', shards: '8' }
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const hex = (bytes) => Buffer.from(bytes).toString('hex')
const networkConfig = { clusterId: Number(args.cluster), numShardsInCluster: Number(args.shards) }

const node = await createLightNode({
  defaultBootstrap: false,
  networkConfig,
  libp2p: { transports: [tcp()], streamMuxers: [yamux(), mplex()] }
})
await node.start()
out({ event: 'ready', peerId: node.libp2p.peerId.toString(), addrs: [] })

// The store node the tests dial, named in every query: js-waku's own choice among its
// connected peers once came back empty on a loaded CI run ("No peers available to query")
// right after waitForPeers had returned, so the tests no longer leave the choice to it.
let storePeer

const commands = {
  async dial (params) {
    const addr = multiaddr(params.addr)
    await node.dial(addr, [Protocols.Store])
    await node.waitForPeers([Protocols.Store], 20000)
    storePeer = node.libp2p.getConnections().map((c) => c.remotePeer)
      .find((p) => p.toString() === addr.getPeerId())
    if (!storePeer) throw new Error(`no connection to ${params.addr} after dialling it`)
    return {}
  },
  async query (params) {
    const routingInfo = createRoutingInfo(networkConfig, { contentTopic: params.contentTopic })
    const decoder = createDecoder(params.contentTopic, routingInfo)
    const options = { paginationForward: params.forward ?? true, peerId: storePeer }
    if (params.limit) options.paginationLimit = params.limit
    if (params.timeStartMs != null) options.timeStart = new Date(params.timeStartMs)
    if (params.timeEndMs != null) options.timeEnd = new Date(params.timeEndMs)
    if (params.hashesHex) options.messageHashes = params.hashesHex.map((h) => Buffer.from(h, 'hex'))
    const messages = []
    let pages = 0
    for await (const page of node.store.queryGenerator([decoder], options)) {
      pages++
      for (const pending of page) {
        const message = await pending
        if (!message) continue
        messages.push({
          // DecodedMessage.hash hashes the wire timestamp; messageHash() of the decoded
          // message would see a millisecond Date instead.
          hash: hex(message.hash),
          payloadHex: hex(message.payload),
          contentTopic: message.contentTopic,
          pubsubTopic: message.pubsubTopic
        })
      }
    }
    return { messages, pages }
  },
  async stop () {
    await node.stop()
    return {}
  }
}

await serveCommands(commands)
await node.stop()
process.exit(0)
