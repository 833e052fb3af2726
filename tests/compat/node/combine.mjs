// Node worker (official iii-sdk) for the core compat tests.
//   node::combine   calls back py::double (a Python function of ours) and combines the results
//   node::fail      throws
//   node::meta      returns its payload and its metadata
//   node::quit      answers, then shuts the SDK down (iii.shutdown()) and prints SHUTDOWN
//   node::probe     calls a function id given in the payload and returns {result} or {error}
//   node::hang      prints INVOKED and never answers
//   node::pipe      streams bytes to py::consume through a channel made with createChannel
//   node-ticker     a trigger type: bindings are reported as BINDING/UNBINDING lines and
//                   fired by node::tick
import { registerWorker, TriggerAction } from 'iii-sdk'
import { createChannel } from 'iii-sdk/helpers'
import { announceReady, report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, { workerName: 'node-combiner' })

iii.registerFunction('node::combine', async (input) => {
  const doubled = await iii.trigger({ function_id: 'py::double', payload: { n: input.n } })
  return { label: input.label, n: input.n, doubled: doubled.value, sum: input.n + doubled.value }
})

iii.registerFunction('node::meta', async (data, metadata) => ({ data, metadata: metadata ?? null }))

iii.registerFunction('node::quit', async () => {
  setTimeout(async () => {
    await iii.shutdown()
    report('SHUTDOWN', true)
  }, 50)
  return 'bye'
})

iii.registerFunction('node::fail', async () => {
  throw new Error('node says no')
})

iii.registerFunction('node::probe', async (input) => {
  try {
    const action = input.void ? TriggerAction.Void() : undefined
    const result = await iii.trigger({ function_id: input.target, payload: input.payload, action })
    return { result: result ?? null }
  } catch (error) {
    return { error: { code: error.code, message: error.message } }
  }
})

iii.registerFunction('node::hang', async (input) => {
  report('INVOKED', input)
  return new Promise(() => {})
})

iii.registerFunction('node::pipe', async ({ size }) => {
  const channel = await createChannel(iii)
  const consumed = iii.trigger({ function_id: 'py::consume', payload: { reader: channel.readerRef } })
  const chunk = Buffer.alloc(size)
  for (let i = 0; i < size; i++) chunk[i] = i % 256
  channel.writer.sendMessage(JSON.stringify({ type: 'meta', size }))
  channel.writer.stream.end(chunk)
  return await consumed
})

const bindings = new Map()
iii.registerTriggerType(
  { id: 'node-ticker', description: 'ticks on demand, provided by the Node SDK' },
  {
    async registerTrigger(binding) {
      if (binding.config?.reject) throw new Error(`rejected: ${binding.config.reject}`)
      bindings.set(binding.id, binding)
      report('BINDING', binding)
    },
    async unregisterTrigger(binding) {
      bindings.delete(binding.id)
      report('UNBINDING', binding)
    },
  },
)

iii.registerFunction('node::tick', async (input) => {
  let fired = 0
  for (const binding of bindings.values()) {
    await iii.trigger({
      function_id: binding.function_id,
      payload: { tick: input.tick, config: binding.config },
      metadata: binding.metadata,
    })
    fired += 1
  }
  return { fired }
})

await announceReady(iii, [
  'node::combine',
  'node::fail',
  'node::probe',
  'node::hang',
  'node::tick',
  'node::pipe',
  'node::meta',
  'node::quit',
])
