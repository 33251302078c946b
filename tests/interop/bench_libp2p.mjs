// js-libp2p <-> js-libp2p benchmark, the reference side of `make bench`: two nodes in one
// process over TCP loopback with Noise and the chosen muxer. Prints one JSON line.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { pushable } from 'it-pushable'
import { randomBytes } from 'node:crypto'

const ECHO = '/pystatus/echo/1.0.0'
const SINK = '/pystatus/sink/1.0.0'
const muxerName = process.argv.includes('--muxer') ? process.argv[process.argv.indexOf('--muxer') + 1] : 'yamux'
const iterations = 2000
const warmup = 200
const bulkBytes = 64 * 1024 * 1024
const chunkSize = 64 * 1024

async function node () {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxerName === 'mplex' ? mplex() : yamux()]
  })
}

const server = await node()
const client = await node()
await server.handle(ECHO, ({ stream }) => { stream.sink(stream.source).catch(() => {}) })
await server.handle(SINK, async ({ stream }) => {
  let total = 0
  for await (const chunk of stream.source) total += chunk.byteLength
  await stream.sink([Buffer.from(String(total))])
})

const addr = server.getMultiaddrs()[0]
// Echo round trip: one message in flight at a time on one open stream.
const echo = await client.dialProtocol(addr, ECHO)
const outgoing = pushable()
echo.sink(outgoing).catch(() => {})
const replies = echo.source[Symbol.asyncIterator]()
const message = randomBytes(32)
const samples = []
for (let i = 0; i < iterations + warmup; i++) {
  const started = process.hrtime.bigint()
  outgoing.push(message)
  let received = 0
  while (received < message.length) {
    const { value } = await replies.next()
    received += value.byteLength
  }
  if (i >= warmup) samples.push(Number(process.hrtime.bigint() - started) / 1000)
}
outgoing.end()
samples.sort((a, b) => a - b)

// Bulk: 64 MiB in 64 KiB writes to a sink that acknowledges the count.
const sink = await client.dialProtocol(addr, SINK)
const chunk = randomBytes(chunkSize)
const started = process.hrtime.bigint()
async function * source () {
  for (let sent = 0; sent < bulkBytes; sent += chunkSize) yield chunk
}
const [, ack] = await Promise.all([
  sink.sink(source()),
  (async () => {
    const parts = []
    for await (const part of sink.source) parts.push(part.subarray())
    return Buffer.concat(parts).toString()
  })()
])
const seconds = Number(process.hrtime.bigint() - started) / 1e9
if (Number(ack) !== bulkBytes) throw new Error(`sink counted ${ack}`)

await client.stop()
await server.stop()
process.stdout.write(JSON.stringify({
  impl: 'js-libp2p',
  muxer: muxerName,
  echo_p50_us: samples[Math.floor(samples.length / 2)],
  echo_p99_us: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))],
  bulk_MBps: bulkBytes / seconds / 1e6
}) + '\n')
