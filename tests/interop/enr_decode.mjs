// Decodes the ENR given as the first argument with @waku/enr and prints its fields as JSON.
import { EnrDecoder } from '@waku/enr'

const enr = await EnrDecoder.fromString(process.argv[2])
const shardInfo = enr.shardInfo
process.stdout.write(JSON.stringify({
  peerId: enr.peerId?.toString(),
  seq: String(enr.seq),
  ip: enr.ip,
  tcp: enr.tcp,
  waku2: enr.waku2,
  multiaddrs: (enr.multiaddrs ?? []).map((m) => m.toString()),
  shardInfo: shardInfo ? { clusterId: shardInfo.clusterId, shards: shardInfo.shards } : null,
  verified: true // EnrDecoder throws on a bad signature
}) + '\n')
