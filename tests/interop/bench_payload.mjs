// The js side of the chat benchmark's crypto row: RFC 26 asymmetric encryption with a
// signature (encrypt) and decryption with signature recovery (decrypt) of a 1 KiB payload by
// npm's @waku/message-encryption. Prints one JSON line of microseconds per operation.
import { encryptAsymmetric, decryptAsymmetric, postCipher, preCipher } from '@waku/message-encryption/ecies'
import { generatePrivateKey, getPublicKey } from '@waku/message-encryption'
import { randomBytes } from 'node:crypto'

const rounds = Number(process.argv[2] ?? 500)
const recipient = generatePrivateKey()
const recipientPublic = getPublicKey(recipient)
const signer = generatePrivateKey()
const payload = new Uint8Array(randomBytes(1024))

let started = performance.now()
const sealed = []
for (let i = 0; i < rounds; i++) {
  const envelope = await preCipher(payload, signer)
  sealed.push(await encryptAsymmetric(envelope, recipientPublic))
}
const encryptUs = ((performance.now() - started) * 1000) / rounds
started = performance.now()
for (const item of sealed) {
  const envelope = await decryptAsymmetric(item, recipient)
  const result = postCipher(envelope)
  if (!result || !result.sig) throw new Error('no signature recovered')
}
const decryptUs = ((performance.now() - started) * 1000) / rounds
process.stdout.write(JSON.stringify({ encrypt_us: encryptUs, decrypt_us: decryptUs }) + '\n')
