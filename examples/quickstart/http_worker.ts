// The quickstart's TypeScript worker, written with the official iii SDK (npm iii-sdk@0.22.1).
//
// It serves `POST /math/add-two-numbers` through the engine's HTTP triggers: the request body
// {a, b} goes to the Python worker's `math::add_to_total`, which adds the numbers and keeps a
// running total in the engine's state; the response is {c, running_total}.
//
// Node 20 does not run TypeScript, so `tsc` compiles this file to dist/http_worker.js
// (`npm run build`; ../../scripts/run and ../../scripts/test do it for you), which the engine
// starts as a process (see config.yaml).
import { InvocationError, registerWorker } from 'iii-sdk'

/** What an `http` trigger hands the function (the fields this worker reads). */
type HttpRequest<TBody> = {
  body: TBody
  headers: Record<string, string | string[]>
  path_params: Record<string, string>
  query_params: Record<string, string | string[]>
}

/** What the function hands back: the engine turns it into the HTTP response. */
type HttpResponse<TBody> = { status_code: number; body: TBody }

type AddInput = { a: number; b: number }
type AddResult = { c: number; running_total: number }
type ErrorBody = { error: string }

const iii = registerWorker(process.env.III_URL ?? 'ws://localhost:49134', {
  workerName: process.env.III_WORKER_NAME ?? 'http-worker',
  otel: { enabled: false },
  enableMetricsReporting: false,
})

function isAddInput(body: unknown): body is AddInput {
  if (typeof body !== 'object' || body === null) return false
  const { a, b } = body as Record<string, unknown>
  return typeof a === 'number' && typeof b === 'number'
}

async function addTwoNumbers(
  request: HttpRequest<unknown>,
): Promise<HttpResponse<AddResult | ErrorBody>> {
  if (!isAddInput(request.body)) {
    return { status_code: 400, body: { error: 'send a JSON object {"a": number, "b": number}' } }
  }
  const { a, b } = request.body
  try {
    const result = await iii.trigger<AddInput, AddResult>({
      function_id: 'math::add_to_total',
      payload: { a, b },
    })
    return { status_code: 200, body: { c: result.c, running_total: result.running_total } }
  } catch (error) {
    // The Python worker is down or failed: say so instead of a bare 500.
    const reason = error instanceof InvocationError ? `${error.code}: ${error.message}` : `${error}`
    return { status_code: 502, body: { error: `math::add_to_total failed (${reason})` } }
  }
}

iii.registerFunction('http::add_two_numbers', addTwoNumbers, {
  description: 'POST /math/add-two-numbers: {a, b} -> {c, running_total}',
})
iii.registerTrigger({
  type: 'http',
  function_id: 'http::add_two_numbers',
  config: { api_path: '/math/add-two-numbers', http_method: 'POST' },
})

const shutdown = async (): Promise<void> => {
  await iii.shutdown()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
console.log('http worker ready: POST /math/add-two-numbers -> http::add_two_numbers')
