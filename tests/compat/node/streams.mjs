// Node worker (official iii-sdk) for the iii-stream compat tests.
//   node::stream_ops   runs stream::* calls (incl. update ops) and returns every result
//   custom stream      'node-custom' via createStream (items kept in this process)
//   stream trigger     on stream 'node-watch', reported as STREAM lines
import { createStream } from 'iii-sdk/helpers'
import { registerWorker } from 'iii-sdk'
import { announceReady, report } from './ready.mjs'

const iii = registerWorker(process.env.III_URL, { workerName: 'node-streams' })
const stream = (op, payload) => iii.trigger({ function_id: `stream::${op}`, payload })

iii.registerFunction('node::stream_ops', async ({ stream_name }) => {
  const at = (item_id, group_id = 'g1') => ({ stream_name, group_id, item_id })
  const out = {}
  out.set_new = await stream('set', { ...at('a'), data: { n: 1, tags: ['x'], text: 'hi' } })
  out.set_again = await stream('set', { ...at('a'), data: { n: 2, tags: ['x'], text: 'hi' } })
  out.get = await stream('get', at('a'))
  out.get_missing = (await stream('get', at('missing'))) ?? null
  await stream('set', { ...at('b', 'g2'), data: 'other group' })
  out.update = await stream('update', {
    ...at('a'),
    ops: [
      { type: 'merge', path: 'session-abc', value: { author: 'alice' } },
      { type: 'merge', path: ['nested', 'deeper'], value: { ts: 'chunk' } },
      { type: 'append', path: 'tags', value: 'y' },
      { type: 'append', path: 'text', value: '!' },
      { type: 'increment', path: 'n', by: 5 },
    ],
  })
  out.list = await stream('list', { stream_name, group_id: 'g1' })
  out.list_groups = await stream('list_groups', { stream_name })
  out.delete = await stream('delete', at('a'))
  out.delete_missing = await stream('delete', at('a'))
  return out
})

const items = new Map()
createStream(iii, 'node-custom', {
  async get({ group_id, item_id }) {
    return items.get(`${group_id}/${item_id}`) ?? null
  },
  async set({ group_id, item_id, data }) {
    const key = `${group_id}/${item_id}`
    const old_value = items.get(key) ?? null
    items.set(key, { node: data })
    return { old_value, new_value: { node: data } }
  },
  async delete({ group_id, item_id }) {
    const key = `${group_id}/${item_id}`
    const old_value = items.get(key) ?? null
    items.delete(key)
    return { old_value }
  },
  async list({ group_id }) {
    return [...items].filter(([k]) => k.startsWith(`${group_id}/`)).map(([, v]) => v)
  },
  async listGroups() {
    return [...new Set([...items.keys()].map((k) => k.split('/')[0]))].sort()
  },
  async update() {
    return null
  },
})

iii.registerFunction('node::on_stream', async (event) => {
  report('STREAM', event)
  return null
})
iii.registerTrigger({
  type: 'stream',
  function_id: 'node::on_stream',
  config: { stream_name: 'node-watch' },
})

await announceReady(iii, ['node::stream_ops', 'stream::set(node-custom)', 'node::on_stream'], {
  bound: ['node::on_stream'],
})
