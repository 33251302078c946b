// One js-libp2p 2.8 node that pystatus's interop tests drive: JSON lines in on stdin (commands),
// JSON lines out on stdout (one "ready" line, one reply per command, unsolicited events).
// Diagnostics go to stderr only.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'

const ECHO = '/pystatus/echo/1.0.0'
const REQRESP = '/pystatus/reqresp/1.0.0'
const SINK = '/pystatus/sink/1.0.0'

function parseArgs (argv) {
  const args = { transport: 'tcp', muxers: 'yamux,mplex', key: undefined }
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '')
    args[name] = argv[i + 1]
  }
  return args
}

const args = parseArgs(process.argv.slice(2))
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (...parts) => process.stderr.write(parts.join(' ') + '\n')

let stopping = false

// Reports every muxer abort while running (e.g. js-mplex's "Too many messages for missing streams").
function watched (factory, name) {
  return (components) => {
    const muxerFactory = factory(components)
    const create = muxerFactory.createStreamMuxer.bind(muxerFactory)
    muxerFactory.createStreamMuxer = (init) => {
      const muxer = create(init)
      const abort = muxer.abort.bind(muxer)
      muxer.abort = (err) => {
        if (!stopping) out({ event: 'connection-error', muxer: name, error: String(err?.message ?? err) })
        return abort(err)
      }
      return muxer
    }
    return muxerFactory
  }
}

const muxerFactories = { yamux: watched(yamux(), 'yamux'), mplex: watched(mplex(), 'mplex') }
const privateKey = args.key
  ? privateKeyFromRaw(Buffer.from(args.key, 'hex'))
  : await generateKeyPair('secp256k1')

const listen = args.transport === 'ws' ? '/ip4/127.0.0.1/tcp/0/ws' : '/ip4/127.0.0.1/tcp/0'
const node = await createLibp2p({
  privateKey,
  addresses: { listen: args['no-listen'] ? [] : [listen] },
  transports: [tcp(), webSockets()],
  connectionEncrypters: [noise()],
  streamMuxers: args.muxers.split(',').map((name) => muxerFactories[name]),
  connectionManager: { maxConnections: 200 },
  services: { identify: identify(), identifyPush: identifyPush(), ping: ping() }
})

const identified = new Map()
node.addEventListener('peer:identify', (evt) => {
  const key = evt.detail.peerId.toString()
  const waiters = identified.get(key)
  identified.set(key, true)
  if (Array.isArray(waiters)) waiters.forEach((resolve) => resolve())
})

async function readAll (source) {
  const chunks = []
  for await (const chunk of source) chunks.push(chunk.subarray())
  return Buffer.concat(chunks)
}

await node.handle(ECHO, ({ stream }) => {
  stream.sink(stream.source).catch((err) => log('echo failed', err.message))
}, { maxInboundStreams: 1024, maxOutboundStreams: 1024 })

await node.handle(REQRESP, async ({ stream }) => {
  try {
    const messages = lp.decode(stream.source)
    const { value } = await messages.next()
    const request = value.subarray()
    await stream.sink(lp.encode([Buffer.concat([Buffer.from('re:'), request])]))
  } catch (err) {
    log('reqresp failed', err.message)
    stream.abort(err)
  }
}, { maxInboundStreams: 1024, maxOutboundStreams: 1024 })

await node.handle(SINK, async ({ stream }) => {
  try {
    let total = 0
    for await (const chunk of stream.source) total += chunk.byteLength
    await stream.sink([Buffer.from(String(total))])
  } catch (err) {
    log('sink failed', err.message)
  }
}, { maxInboundStreams: 1024, maxOutboundStreams: 1024 })

await node.start()
out({ event: 'ready', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })

function target (params) {
  if (params.addr) return multiaddr(params.addr)
  return peerIdFromString(params.peer)
}

async function waitIdentified (peer, timeoutMs) {
  if (identified.get(peer) === true) return
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`identify of ${peer} timed out`)), timeoutMs)
    const waiters = identified.get(peer) ?? []
    waiters.push(() => { clearTimeout(timer); resolve() })
    identified.set(peer, waiters)
  })
}

const decoder = new TextDecoder()

async function echo (params, protocol = ECHO) {
  const stream = await node.dialProtocol(target(params), protocol)
  const data = Buffer.from(params.dataHex ?? '', 'hex')
  const [, reply] = await Promise.all([stream.sink([data]), readAll(stream.source)])
  return reply
}

const commands = {
  async dial (params) {
    const connection = await node.dial(multiaddr(params.addr))
    return {
      remotePeer: connection.remotePeer.toString(),
      muxer: connection.multiplexer,
      encryption: connection.encryption
    }
  },
  async identify (params) {
    await waitIdentified(params.peer, params.timeoutMs ?? 10000)
    const peer = await node.peerStore.get(peerIdFromString(params.peer))
    const meta = (key) => {
      const value = peer.metadata.get(key)
      return value ? decoder.decode(value) : null
    }
    return {
      protocols: peer.protocols,
      agentVersion: meta('AgentVersion'),
      protocolVersion: meta('ProtocolVersion'),
      listenAddrs: peer.addresses.map((a) => a.multiaddr.toString()),
      publicKeyType: peer.id.publicKey ? peer.id.publicKey.type.toLowerCase() : null,
      observedAddr: null
    }
  },
  async ping (params) {
    return { rttMs: await node.services.ping.ping(target(params)) }
  },
  async echo (params) {
    return { dataHex: (await echo(params, params.protocol ?? ECHO)).toString('hex') }
  },
  async reqresp (params) {
    const stream = await node.dialProtocol(target(params), REQRESP)
    const request = Buffer.from(params.dataHex, 'hex')
    const [, replies] = await Promise.all([
      stream.sink(lp.encode([request])),
      (async () => {
        const messages = []
        for await (const message of lp.decode(stream.source)) messages.push(message.subarray())
        return messages
      })()
    ])
    if (replies.length !== 1) throw new Error(`expected one reply, got ${replies.length}`)
    return { dataHex: Buffer.from(replies[0]).toString('hex') }
  },
  async concurrent (params) {
    const failures = []
    await Promise.all(Array.from({ length: params.count }, async (_, index) => {
      const data = randomBytes(params.size)
      try {
        const reply = await echo({ ...params, dataHex: data.toString('hex') })
        if (!reply.equals(data)) failures.push(`stream ${index}: reply differs`)
      } catch (err) {
        failures.push(`stream ${index}: ${err.message}`)
      }
    }))
    return { streams: params.count, failures }
  },
  async connections () {
    return {
      connections: node.getConnections().map((c) => ({
        remotePeer: c.remotePeer.toString(),
        remoteAddr: c.remoteAddr.toString(),
        muxer: c.multiplexer,
        encryption: c.encryption,
        streams: c.streams.length
      }))
    }
  },
  async stop () {
    stopping = true
    await node.stop()
    return {}
  }
}

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  if (!line.trim()) continue
  let request
  try {
    request = JSON.parse(line)
  } catch (err) {
    out({ event: 'bad-command', error: err.message })
    continue
  }
  const { id, cmd, ...params } = request
  const handler = commands[cmd]
  const run = async () => {
    if (!handler) throw new Error(`unknown command ${cmd}`)
    const timeoutMs = params.timeoutMs ?? 30000
    let timer
    const deadline = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${cmd} timed out after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      return await Promise.race([handler(params), deadline])
    } finally {
      clearTimeout(timer)
    }
  }
  run().then(
    (result) => {
      out({ id, ok: true, ...result })
      if (cmd === 'stop') process.exit(0)
    },
    (err) => out({ id, ok: false, error: String(err?.message ?? err) })
  )
}
stopping = true
await node.stop()
process.exit(0)
