// The quickstart's Node worker, written with the official iii SDK (npm iii-sdk@0.22.1).
//
// It exports `caller::sum`, which adds a list of numbers by calling the Python worker's
// `math::add` through the engine, one pair at a time:
//
//   npm install && node caller.mjs          (with the engine from ../../scripts/run running)
//   iii trigger caller::sum 'numbers=[1,2,3,4]'   ->  {"total": 10}
import { registerWorker } from 'iii-sdk'

const iii = registerWorker(process.env.III_URL ?? 'ws://localhost:49134', {
  workerName: process.env.III_WORKER_NAME ?? 'quickstart-caller',
  otel: { enabled: false },
})

iii.registerFunction(
  'caller::sum',
  async (input) => {
    let total = 0
    for (const n of input?.numbers ?? []) {
      const { c } = await iii.trigger({ function_id: 'math::add', payload: { a: total, b: n } })
      total = c
    }
    return { total }
  },
  { description: 'Sum a list of numbers with math::add: {numbers: [..]} -> {total}' },
)

const shutdown = async () => {
  await iii.shutdown()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
console.log('caller ready: caller::sum')
