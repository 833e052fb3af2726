// Shared by the Node compat workers: wait until our own functions (and, optionally, the
// bindings targeting them) are listed by the engine, then print READY.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function listed(iii, functionIds, boundIds) {
  const functions = await iii.trigger({ function_id: 'engine::functions::list', payload: {} })
  const ids = new Set(functions.functions.map((row) => row.function_id))
  if (!functionIds.every((id) => ids.has(id))) return false
  if (boundIds.length === 0) return true
  const triggers = await iii.trigger({
    function_id: 'engine::registered-triggers::list',
    payload: {},
  })
  const bound = new Set(triggers.registered_triggers.map((row) => row.function_id))
  return boundIds.every((id) => bound.has(id))
}

export async function announceReady(iii, functionIds, { bound = [], timeoutMs = 15000 } = {}) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await listed(iii, functionIds, bound)) {
      console.log('READY')
      return
    }
    await sleep(20)
  }
  console.log('NOT-READY')
  process.exit(1)
}

// Print one JSON line the Python test can wait for.
export function report(tag, value) {
  console.log(`${tag} ${JSON.stringify(value)}`)
}
