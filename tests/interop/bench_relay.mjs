// js Waku relay benchmark, the reference side of `make bench`: js-libp2p 2.8 gossipsub nodes
// speaking /vac/waku/relay/2.0.0 (as tests/interop/waku_relay_peer.mjs), all in one process on
// TCP loopback, relaying 1 KiB @waku/proto messages. Prints one JSON line.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { wakuGossipsub, useRelayCodec } from './waku_relay.mjs'
import { WakuMessage } from '@waku/proto'

const TOPIC = '/waku/2/rs/1/0'
const CONTENT = '/bench/1/relay/proto'
const PAYLOAD = 1024
const messages = Number(process.argv[2] ?? 20000)
const samples = Number(process.argv[3] ?? 500)

async function relayNode () {
  const node = await createLibp2p({
    start: false,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: wakuGossipsub()
    }
  })
  useRelayCodec(node)
  await node.start()
  node.services.pubsub.subscribe(TOPIC)
  return node
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function line (count) {
  const nodes = []
  for (let i = 0; i < count; i++) nodes.push(await relayNode())
  for (let i = 0; i + 1 < count; i++) await nodes[i].dial(nodes[i + 1].getMultiaddrs()[0])
  const deadline = Date.now() + 30000
  for (;;) {
    const ready = nodes.every((node, i) => {
      const wanted = i === 0 || i === count - 1 ? 1 : 2
      return node.services.pubsub.getMeshPeers(TOPIC).length >= wanted
    })
    if (ready) return nodes
    if (Date.now() > deadline) throw new Error('mesh did not form')
    await sleep(50)
  }
}

function message (index) {
  const payload = Buffer.alloc(PAYLOAD)
  payload.writeBigUInt64BE(BigInt(index))
  return WakuMessage.encode({
    payload, contentTopic: CONTENT, timestamp: BigInt(Date.now()) * 1000000n, version: 0
  })
}

async function throughput (count, total) {
  const nodes = await line(count)
  const subscriber = nodes[count - 1].services.pubsub
  let delivered = 0
  const done = new Promise((resolve) => {
    subscriber.addEventListener('message', () => {
      delivered++
      if (delivered === total) resolve(process.hrtime.bigint())
    })
  })
  const started = process.hrtime.bigint()
  for (let i = 0; i < total; i++) await nodes[0].services.pubsub.publish(TOPIC, message(i))
  const finished = await Promise.race([done, sleep(120000).then(() => { throw new Error(`only ${delivered} of ${total} delivered`) })])
  await Promise.all(nodes.map((node) => node.stop()))
  return total / (Number(finished - started) / 1e9)
}

async function latency (hops, count) {
  const nodes = await line(hops + 1)
  let resolveNext
  nodes[hops].services.pubsub.addEventListener('message', () => resolveNext?.(process.hrtime.bigint()))
  const results = []
  for (let i = 0; i < count + 50; i++) {
    const arrived = new Promise((resolve) => { resolveNext = resolve })
    const started = process.hrtime.bigint()
    await nodes[0].services.pubsub.publish(TOPIC, message(i))
    const end = await arrived
    if (i >= 50) results.push(Number(end - started) / 1e6)
  }
  results.sort((a, b) => a - b)
  await Promise.all(nodes.map((node) => node.stop()))
  return [results[Math.floor(results.length / 2)], results[Math.floor(0.99 * (results.length - 1))]]
}

const link = await throughput(2, messages)
const line5 = await throughput(5, Math.floor(messages / 2))
const [p50, p99] = await latency(3, samples)
process.stdout.write(JSON.stringify({
  link_msgs_per_s: link, line5_msgs_per_s: line5, latency_p50_ms: p50, latency_p99_ms: p99
}) + '\n')
process.exit(0)
