// Node worker (official iii-sdk) for the built-in compat tests (iii-http, iii-state, iii-pubsub).
//   POST /math/add-two-numbers  {a, b} -> {c: a + b, running_total} kept in state
//   node::state_ops             runs state::* calls and returns every result
//   GET  /node/download         streamed response through the response channel
//   POST /node/upload           reads the raw body from the request channel
//   subscribe node-topic        reported as PUBSUB lines
//   state scope node-watch      reported as STATE lines
import { createHash } from 'node:crypto'
import { http } from '@iii-dev/helpers/http'
import { registerWorker } from 'iii-sdk'
import { announceReady, report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, { workerName: 'node-builtins' })
const state = (op, payload) => iii.trigger({ function_id: `state::${op}`, payload })

iii.registerFunction('node::math::add', async (req) => {
  const { a, b } = req.body
  const key = { scope: 'math', key: 'running_total' }
  const previous = (await state('get', key)) ?? 0
  const c = a + b
  const stored = await state('set', { ...key, value: previous + c })
  return { status_code: 200, body: { c, running_total: stored.new_value } }
})
iii.registerTrigger({
  type: 'http',
  function_id: 'node::math::add',
  config: { api_path: '/math/add-two-numbers', http_method: 'POST' },
})

iii.registerFunction('node::state_ops', async ({ scope }) => {
  const out = {}
  out.set_new = await state('set', { scope, key: 'k1', value: { n: 1, tags: ['a'] } })
  out.set_again = await state('set', { scope, key: 'k1', value: { n: 2, tags: ['a'] } })
  out.get = await state('get', { scope, key: 'k1' })
  // A missing key may come back as a null or an absent result (JS: null or undefined).
  out.get_missing = (await state('get', { scope, key: 'missing' })) ?? null
  out.update = await state('update', {
    scope,
    key: 'k1',
    ops: [
      { type: 'increment', path: 'n', by: 5 },
      { type: 'append', path: 'tags', value: 'b' },
      { type: 'merge', path: 'session-abc', value: { author: 'alice' } },
      { type: 'merge', path: 'session-abc', value: { ts: 'chunk' } },
    ],
  })
  await state('set', { scope, key: 'k2', value: 'second' })
  out.list = await state('list', { scope })
  out.list_groups = await state('list_groups', {})
  out.delete = await state('delete', { scope, key: 'k2' })
  out.delete_missing = (await state('delete', { scope, key: 'k2' })) ?? null
  return out
})

const payload = Buffer.alloc(256 * 1024)
for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 251
iii.registerFunction(
  'node::download',
  http(async (_req, res) => {
    res.status(200)
    res.headers({ 'content-type': 'application/octet-stream', 'x-sha256': sha256(payload) })
    res.stream.end(payload)
  }),
)
iii.registerTrigger({
  type: 'http',
  function_id: 'node::download',
  config: { api_path: '/node/download', http_method: 'GET' },
})

iii.registerFunction('node::upload', async (req) => {
  const body = await req.request_body.readAll()
  return { status_code: 200, body: { size: body.length, sha256: sha256(body) } }
})
iii.registerTrigger({
  type: 'http',
  function_id: 'node::upload',
  config: { api_path: '/node/upload', http_method: 'POST' },
})

iii.registerFunction('node::on_publish', async (data) => {
  report('PUBSUB', data)
})
iii.registerTrigger({
  type: 'subscribe',
  function_id: 'node::on_publish',
  config: { topic: 'node-topic' },
})

iii.registerFunction('node::on_state', async (event) => {
  report('STATE', event)
})
iii.registerTrigger({
  type: 'state',
  function_id: 'node::on_state',
  config: { scope: 'node-watch' },
})

function sha256(buffer) {
  return createHash('sha256').update(buffer).digest('hex')
}

const routed = ['node::math::add', 'node::download', 'node::upload', 'node::on_publish', 'node::on_state']
await announceReady(iii, [...routed, 'node::state_ops'], { bound: routed })
