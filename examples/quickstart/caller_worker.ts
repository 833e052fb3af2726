// The quickstart's `caller-worker`, written with the official iii SDK (npm iii-sdk@0.22.1).
//
// It registers `math::add_two_numbers`, which calls `math::add` (registered by the Python
// `math-worker`) THROUGH THE ENGINE: this file never imports, spawns or addresses the Python
// worker, it only names the function. The sum is added to a running total kept in the engine's
// state (`iii-state`, scope `math`, key `running_total`), and an `http` trigger exposes the
// function as `POST /math/add-two-numbers` (served by `iii-http`).
//
// The same function answers two kinds of callers:
//   - `iii trigger math::add_two_numbers a=2 b=3`, or `worker.trigger(...)` from code, pass
//     {a, b} and get {c, running_total}; a failure is thrown (an invocation error);
//   - the `http` trigger passes the HTTP request ({body, headers, method, ...}) and gets an HTTP
//     response: 200 {c, running_total}, 400 for a bad body, 503/502 when `math::add` fails,
//     with a JSON body naming it.
//
// Node 20 does not run TypeScript, so `tsc` compiles this file to dist/caller_worker.js
// (`npm run build`; ../../scripts/run and ../../scripts/test do it for you), which the engine
// starts as a process (see config.yaml).
import { InvocationError, registerWorker } from 'iii-sdk'

type AddInput = { a: number; b: number }
type AddResult = { c: number }
type Sum = { c: number; running_total: number }

/** What an `http` trigger hands the function (the fields this worker reads). */
type HttpRequest = { method: string; headers: Record<string, unknown>; body: unknown }

/** What the function hands back to an `http` trigger: the engine turns it into the response. */
type HttpResponse = { status_code: number; body: Sum | { error: ErrorBody } }

/** The JSON error body of a failed request: the wire error code and message, and where. */
type ErrorBody = { code: string; message: string; function_id?: string }

const STATE = { scope: 'math', key: 'running_total' }

const iii = registerWorker(process.env.III_URL ?? 'ws://localhost:49134', {
  workerName: process.env.III_WORKER_NAME ?? 'caller-worker',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

function isAddInput(value: unknown): value is AddInput {
  if (typeof value !== 'object' || value === null) return false
  const { a, b } = value as Record<string, unknown>
  return typeof a === 'number' && typeof b === 'number'
}

function isHttpRequest(value: unknown): value is HttpRequest {
  if (typeof value !== 'object' || value === null) return false
  const request = value as Record<string, unknown>
  return typeof request.method === 'string' && typeof request.headers === 'object' && 'body' in request
}

// state::get then state::set is not atomic: this worker applies one update at a time.
let lastUpdate: Promise<unknown> = Promise.resolve()

function addToRunningTotal(c: number): Promise<number> {
  const update = lastUpdate.then(async () => {
    const total = (await iii.trigger<typeof STATE, number | null>({
      function_id: 'state::get',
      payload: STATE,
    })) ?? 0
    await iii.trigger({ function_id: 'state::set', payload: { ...STATE, value: total + c } })
    return total + c
  })
  lastUpdate = update.catch(() => undefined)
  return update
}

/** `{a, b}` -> `{c, running_total}`: `math::add` (through the engine), then the total. */
async function addTwoNumbers({ a, b }: AddInput): Promise<Sum> {
  const { c } = await iii.trigger<AddInput, AddResult>({
    function_id: 'math::add',
    payload: { a, b },
  })
  return { c, running_total: await addToRunningTotal(c) }
}

/** The HTTP answer to a failed call: 503 while `math::add` is not registered, else 502. */
function failure(error: unknown): HttpResponse {
  if (error instanceof InvocationError) {
    const message = error.message.replace(`${error.code}: `, '')
    const status_code = error.code === 'function_not_found' ? 503 : 502
    return {
      status_code,
      body: { error: { code: error.code, message, function_id: error.function_id } },
    }
  }
  return { status_code: 502, body: { error: { code: 'invocation_failed', message: `${error}` } } }
}

async function answerHttp(request: HttpRequest): Promise<HttpResponse> {
  if (!isAddInput(request.body)) {
    const message = 'send a JSON object {"a": number, "b": number}'
    return { status_code: 400, body: { error: { code: 'bad_request', message } } }
  }
  try {
    return { status_code: 200, body: await addTwoNumbers(request.body) }
  } catch (error) {
    return failure(error)
  }
}

iii.registerFunction(
  'math::add_two_numbers',
  async (input: unknown): Promise<Sum | HttpResponse> => {
    if (isHttpRequest(input)) return answerHttp(input)
    if (!isAddInput(input)) throw new Error('math::add_two_numbers expects {"a": number, "b": number}')
    return addTwoNumbers(input)
  },
  { description: 'Add two numbers with math::add and keep a running total: {a, b} -> {c, running_total}' },
)
iii.registerTrigger({
  type: 'http',
  function_id: 'math::add_two_numbers',
  config: { api_path: '/math/add-two-numbers', http_method: 'POST' },
})

const shutdown = async (): Promise<void> => {
  await iii.shutdown()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
console.log('caller-worker ready: math::add_two_numbers, POST /math/add-two-numbers')
