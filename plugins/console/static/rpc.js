// The console's connection to its server: JSON over one WebSocket, reconnecting.
//
//   call(functionId, payload) -> Promise<{ok, result | error, ms}>
//   on("workers" | "functions" | "stream" | "open" | "close", handler) -> unsubscribe
//   watch({stream_name, group_id}) / unwatch(...)

export class Console {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.calls = 0; // function calls made by this page (the overview leaves them out of throughput)
    this.pending = new Map();
    this.handlers = new Map();
    this.hello = null;
    this.socket = null;
    this.queue = [];
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      for (const frame of this.queue.splice(0)) socket.send(frame);
    };
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = () => {
      for (const [, resolve] of this.pending) {
        resolve({ ok: false, error: { code: "disconnected", message: "console connection lost" } });
      }
      this.pending.clear();
      this.emit("close", null);
      setTimeout(() => this.connect(), 1000);
    };
  }

  receive(message) {
    if (message.hello) {
      this.hello = message.hello;
      this.emit("open", message.hello);
    } else if (message.event) {
      this.emit(message.event, message.data);
    } else if (this.pending.has(message.id)) {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      resolve(message);
    }
  }

  send(request) {
    const id = this.nextId++;
    const frame = JSON.stringify({ ...request, id });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame);
      else this.queue.push(frame);
    });
  }

  call(functionId, payload = {}, timeoutMs = undefined) {
    this.calls++;
    return this.send({ call: functionId, payload, timeout_ms: timeoutMs });
  }

  watch(group) {
    return this.send({ watch: group });
  }

  unwatch(group) {
    return this.send({ unwatch: group });
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event).delete(handler);
  }

  emit(event, data) {
    for (const handler of this.handlers.get(event) || []) handler(data);
  }
}
