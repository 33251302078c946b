// The js side of `make bench`'s light-client rows. Prints one JSON line.
//
//   fanout <subscribers> <messages> <samples>
//     js-waku has no filter service, so this is js-libp2p 2.8 doing a filter service's push
//     work: for each message, one @waku/proto MessagePush written on a new
//     /vac/waku/filter-push/2.0.0-beta1 stream to each subscriber (in order per subscriber),
//     all nodes in this process on TCP loopback with Noise and yamux.
//   lightpush <service multiaddr> <clients> <each>
//     js-waku light nodes (createLightNode) each sending <each> messages with lightPush.send,
//     one after another, all clients at once, to the given service node.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { createLightNode, createEncoder, Protocols } from '@waku/sdk'
import { createRoutingInfo } from '@waku/utils'
import { proto_filter_v2 as filterProto } from '@waku/proto'
import * as lp from 'it-length-prefixed'

const PUSH = '/vac/waku/filter-push/2.0.0-beta1'
const TOPIC = '/waku/2/rs/1/3'
const CONTENT = '/toychat/2/huilong/proto'
const PAYLOAD = 1024
const [mode, ...rest] = process.argv.slice(2)

const percentile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))]
const median = (sorted) => sorted.length % 2
  ? sorted[(sorted.length - 1) / 2]
  : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2

function wakuMessage (index, sender = 0) {
  const payload = Buffer.alloc(PAYLOAD)
  payload.writeUInt32BE(sender)
  payload.writeBigUInt64BE(BigInt(index), 4)
  return { payload, contentTopic: CONTENT, timestamp: BigInt(Date.now()) * 1000000n, version: 0 }
}

async function plainNode () {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    connectionManager: { maxConnections: 1000 }
  })
}

async function fanout (subscriberCount, messages, samples) {
  const publisher = await plainNode()
  let received = 0
  let waiter = null
  const subscribers = []
  for (let i = 0; i < subscriberCount; i++) {
    const node = await plainNode()
    await node.handle(PUSH, ({ stream }) => {
      (async () => {
        for await (const bytes of lp.decode(stream.source)) {
          const push = filterProto.MessagePush.decode(bytes.subarray())
          if (!push.wakuMessage || !push.pubsubTopic) throw new Error('bad push')
          received++
          if (waiter && received >= waiter.target) { waiter.resolve(performance.now()); waiter = null }
        }
        await stream.close() // as a pystatus subscriber does, so the pusher's stream ends
      })().catch((err) => console.error(err))
    }, { maxInboundStreams: 1000 })
    subscribers.push(node)
  }
  const connections = []
  for (const node of subscribers) connections.push(await publisher.dial(node.getMultiaddrs()[0]))
  const chains = connections.map(() => Promise.resolve())
  const pushOne = async (connection, data) => {
    const stream = await connection.newStream(PUSH)
    await stream.sink(lp.encode([data]))
  }
  let pending = 0
  const publish = (index) => {
    const data = filterProto.MessagePush.encode({ wakuMessage: wakuMessage(index), pubsubTopic: TOPIC })
    connections.forEach((connection, i) => {
      pending++
      chains[i] = chains[i].then(() => pushOne(connection, data)).finally(() => { pending-- })
    })
  }
  const deliver = async (count, start) => {
    const done = new Promise((resolve) => { waiter = { target: received + count * subscriberCount, resolve } })
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      publish(start + i)
      if (i % 16 === 15) {
        while (pending > subscriberCount * 32) await new Promise((resolve) => setImmediate(resolve))
      }
    }
    return (await done) - started
  }
  await deliver(20, 0)
  const elapsed = await deliver(messages, 100)
  const latencies = []
  for (let i = 0; i < samples; i++) latencies.push(await deliver(1, 10000 + i))
  latencies.sort((a, b) => a - b)
  await Promise.all([publisher, ...subscribers].map((node) => node.stop()))
  return {
    msgs_per_s: messages / (elapsed / 1000),
    latency_p50_ms: median(latencies),
    latency_p99_ms: percentile(latencies, 0.99)
  }
}

async function lightpush (service, clientCount, each) {
  const networkConfig = { clusterId: 1, numShardsInCluster: 8 }
  const routingInfo = createRoutingInfo(networkConfig, { contentTopic: CONTENT })
  const encoder = createEncoder({ contentTopic: CONTENT, routingInfo })
  const clients = []
  for (let i = 0; i < clientCount; i++) {
    const node = await createLightNode({
      defaultBootstrap: false,
      networkConfig,
      libp2p: { transports: [tcp()], streamMuxers: [yamux(), mplex()] }
    })
    await node.start()
    await node.dial(multiaddr(service), [Protocols.LightPush])
    await node.waitForPeers([Protocols.LightPush], 20000)
    clients.push(node)
  }
  const latencies = []
  const pusher = async (node, sender) => {
    for (let i = 0; i < each; i++) {
      const started = performance.now()
      const result = await node.lightPush.send(encoder, { payload: wakuMessage(i, sender).payload }, { autoRetry: false })
      if (result.successes.length !== 1) throw new Error(`push failed: ${JSON.stringify(result.failures)}`)
      latencies.push(performance.now() - started)
    }
  }
  await pusher(clients[0], clientCount) // warm-up
  latencies.length = 0
  const started = performance.now()
  await Promise.all(clients.map((node, i) => pusher(node, i)))
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  await Promise.all(clients.map((node) => node.stop()))
  return {
    requests_per_s: (clientCount * each) / (elapsed / 1000),
    latency_p50_ms: median(latencies),
    latency_p99_ms: percentile(latencies, 0.99)
  }
}

const result = mode === 'fanout'
  ? await fanout(Number(rest[0] ?? 100), Number(rest[1] ?? 500), Number(rest[2] ?? 100))
  : await lightpush(rest[0], Number(rest[1] ?? 10), Number(rest[2] ?? 200))
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
