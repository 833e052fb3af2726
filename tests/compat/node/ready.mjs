// Shared by the Node compat workers: wait until our own functions are listed, then say READY.
export async function announceReady(iii, functionIds, { timeoutMs = 15000 } = {}) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const listing = await iii.trigger({ function_id: 'engine::functions::list', payload: {} })
    const listed = new Set(listing.functions.map((row) => row.function_id))
    if (functionIds.every((id) => listed.has(id))) {
      console.log('READY')
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  console.log('NOT-READY')
  process.exit(1)
}

// Print one JSON line the Python test can wait for.
export function report(tag, value) {
  console.log(`${tag} ${JSON.stringify(value)}`)
}
