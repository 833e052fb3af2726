// Node worker (official iii-sdk) connecting to an RBAC listener with an Authorization header
// (env NODE_TOKEN). It calls each id of env CALLS (comma-separated) and reports one line per
// call: CALL {"id", "result"} or CALL {"id", "error": {"code", "message", "name"}}; then DONE.
import { registerWorker } from 'iii-sdk'
import { report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, {
  workerName: 'node-rbac',
  headers: { authorization: `Bearer ${process.env.NODE_TOKEN}` },
})

for (const id of process.env.CALLS.split(',')) {
  try {
    const result = await iii.trigger({ function_id: id, payload: { from: 'node' } })
    report('CALL', { id, result: result ?? null })
  } catch (error) {
    report('CALL', { id, error: { code: error.code, message: error.message, name: error.name } })
  }
}
report('DONE', true)
await iii.shutdown()
