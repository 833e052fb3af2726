// Node worker (official iii-sdk) for the iii-cron compat test: one every-second cron binding;
// each firing is reported as a TICK line with its payload.
import { registerWorker } from 'iii-sdk'
import { announceReady, report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, { workerName: 'node-cron' })

iii.registerFunction('node::tick', async (payload) => {
  report('TICK', payload)
  return null
})
iii.registerTrigger({
  type: 'cron',
  function_id: 'node::tick',
  config: { expression: '* * * * * *' },
})

await announceReady(iii, ['node::tick'], { bound: ['node::tick'] })
