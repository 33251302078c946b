// @waku/message-encryption (RFC 26, version 1) for the interop tests: reads one JSON object
// {ops: [...]} on stdin and prints {results: [...]}. Each op uses the package's own encoders and
// decoders, as an app would:
//   {op: "encrypt", kind: "symmetric"|"asymmetric", payloadHex, keyHex, sigPrivKeyHex?}
//     keyHex is the symmetric key or the recipient's public key; gives {payloadHex}
//   {op: "decrypt", kind, payloadHex, keyHex}
//     keyHex is the symmetric key or the recipient's private key; gives {payloadHex, signerHex}
import { ecies, symmetric } from '@waku/message-encryption'
import { createRoutingInfo } from '@waku/utils'
import { text } from 'node:stream/consumers'

const CONTENT_TOPIC = '/pystatus/1/payload/proto'
const routingInfo = createRoutingInfo({ clusterId: 1, numShardsInCluster: 8 }, { contentTopic: CONTENT_TOPIC })
const hex = (bytes) => (bytes ? Buffer.from(bytes).toString('hex') : null)
const bytes = (text) => new Uint8Array(Buffer.from(text, 'hex'))

async function run (op) {
  const scheme = op.kind === 'symmetric' ? symmetric : ecies
  if (op.op === 'encrypt') {
    const options = { contentTopic: CONTENT_TOPIC, routingInfo }
    if (op.kind === 'symmetric') options.symKey = bytes(op.keyHex)
    else options.publicKey = bytes(op.keyHex)
    if (op.sigPrivKeyHex) options.sigPrivKey = bytes(op.sigPrivKeyHex)
    const proto = await scheme.createEncoder(options).toProtoObj({ payload: bytes(op.payloadHex) })
    return { payloadHex: hex(proto.payload), version: proto.version }
  }
  const decoder = scheme.createDecoder(CONTENT_TOPIC, routingInfo, bytes(op.keyHex))
  const message = await decoder.fromProtoObj(routingInfo.pubsubTopic, {
    payload: bytes(op.payloadHex),
    contentTopic: CONTENT_TOPIC,
    version: 1,
    timestamp: BigInt(Date.now()) * 1000000n,
    meta: undefined,
    rateLimitProof: undefined,
    ephemeral: false
  })
  if (!message) return { payloadHex: null, signerHex: null }
  return { payloadHex: hex(message.payload), signerHex: hex(message.signaturePublicKey) }
}

const { ops } = JSON.parse(await text(process.stdin))
const results = []
for (const op of ops) results.push(await run(op))
process.stdout.write(JSON.stringify({ results }) + '\n')
