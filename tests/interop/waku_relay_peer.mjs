// A js Waku relay node for pystatus's interop tests: js-libp2p 2.8 with gossipsub speaking
// /vac/waku/relay/2.0.0 (StrictNoSign, sha256 message ids), @waku/core's metadata service and
// @waku/proto Waku messages. npm's @waku/relay stops at libp2p 1.x, so this is how js-waku's
// relay is run against libp2p 2.8. JSON lines in (commands), JSON lines out (replies, events).
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { wakuGossipsub, useRelayCodec } from './waku_relay.mjs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { wakuMetadata, messageHash } from '@waku/core'
import { WakuMessage } from '@waku/proto'
import { out, serveCommands } from './json_lines.mjs'

const args = { transport: 'tcp', cluster: '1' }
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const hex = (bytes) => Buffer.from(bytes).toString('hex')

const listen = args.transport === 'ws' ? '/ip4/127.0.0.1/tcp/0/ws' : '/ip4/127.0.0.1/tcp/0'
const node = await createLibp2p({
  start: false, // see useRelayCodec
  privateKey: await generateKeyPair('secp256k1'),
  addresses: { listen: [listen] },
  transports: [tcp(), webSockets()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux(), mplex()],
  services: {
    identify: identify(),
    ping: ping(),
    metadata: wakuMetadata(Number(args.cluster)),
    pubsub: wakuGossipsub()
  }
})
useRelayCodec(node)

node.services.pubsub.addEventListener('message', (evt) => {
  const { topic, data } = evt.detail
  let decoded
  try {
    decoded = WakuMessage.decode(data)
  } catch (err) {
    out({ event: 'bad-message', topic, error: String(err?.message ?? err) })
    return
  }
  out({
    event: 'message',
    topic,
    contentTopic: decoded.contentTopic,
    payloadHex: hex(decoded.payload ?? new Uint8Array()),
    timestamp: decoded.timestamp?.toString() ?? null,
    hash: hex(messageHash(topic, decoded))
  })
})

await node.start()
out({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })

const commands = {
  async dial (params) {
    const connection = await node.dial(multiaddr(params.addr))
    return { remotePeer: connection.remotePeer.toString() }
  },
  async subscribe (params) {
    node.services.pubsub.subscribe(params.topic)
    return {}
  },
  async meshPeers (params) {
    return { peers: node.services.pubsub.getMeshPeers(params.topic) }
  },
  async publish (params) {
    const message = {
      payload: Buffer.from(params.payloadHex, 'hex'),
      contentTopic: params.contentTopic,
      timestamp: BigInt(params.timestamp ?? Date.now() * 1e6),
      version: 0
    }
    const result = await node.services.pubsub.publish(params.topic, WakuMessage.encode(message))
    return { recipients: result.recipients.length, hash: hex(messageHash(params.topic, message)) }
  },
  async metadata (params) {
    const connection = node.getConnections().find((c) => c.remotePeer.toString() === params.peer)
    if (!connection) throw new Error(`not connected to ${params.peer}`)
    const result = await node.services.metadata.query(connection.remotePeer)
    if (result.error) throw new Error(String(result.error))
    return { clusterId: result.shardInfo.clusterId, shards: result.shardInfo.shards }
  },
  async connections () {
    return { peers: node.getConnections().map((c) => c.remotePeer.toString()) }
  },
  async stop () {
    await node.stop()
    return {}
  }
}

await serveCommands(commands)
await node.stop()
process.exit(0)
