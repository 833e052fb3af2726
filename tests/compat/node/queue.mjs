// Node worker (official iii-sdk) for the iii-queue compat tests.
//   node::enqueue   enqueues node::job through TriggerAction.Enqueue and returns the receipt
//   node::job       reported as JOB lines
//   node::flaky     fails its first attempt for each id, reported as FLAKY lines
//   durable:subscriber node-orders -> node::on_order, reported as DURABLE lines
import { TriggerAction, registerWorker } from 'iii-sdk'
import { announceReady, report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, { workerName: 'node-queue' })

iii.registerFunction('node::job', async (data) => {
  report('JOB', data)
  return { ok: true }
})

const failed = new Set()
iii.registerFunction('node::flaky', async (data) => {
  const first = !failed.has(data.id)
  failed.add(data.id)
  report('FLAKY', { ...data, first })
  if (first) throw new Error('failing the first attempt')
  return null
})

iii.registerFunction('node::enqueue', async ({ queue, function_id, data }) =>
  iii.trigger({ function_id, payload: data, action: TriggerAction.Enqueue({ queue }) }),
)

iii.registerFunction('node::on_order', async (data) => {
  report('DURABLE', data)
  return null
})
iii.registerTrigger({
  type: 'durable:subscriber',
  function_id: 'node::on_order',
  config: { topic: 'node-orders' },
})

await announceReady(iii, ['node::job', 'node::flaky', 'node::enqueue', 'node::on_order'], {
  bound: ['node::on_order'],
})
