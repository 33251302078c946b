// The interop scripts' protocol with tests/interop/harness.py: one JSON object per line each
// way. Commands arrive as {id, cmd, ...params}; replies go out as {id, ok, ...result} or
// {id, ok: false, error}. `stop` exits once answered.
import { createInterface } from 'node:readline'

export const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

export async function serveCommands (commands) {
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue
    const { id, cmd, ...params } = JSON.parse(line)
    const handler = commands[cmd]
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${cmd}`)
        return handler(params)
      })
      .then(
        (result) => {
          out({ id, ok: true, ...result })
          if (cmd === 'stop') process.exit(0)
        },
        (err) => out({ id, ok: false, error: String(err?.stack ?? err) })
      )
  }
}
