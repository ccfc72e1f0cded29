// The other side of benches/js/worker_pingpong.mjs: sends every message back.
const endpoint = globalThis.link ?? self;
endpoint.onmessage = (e) => endpoint.postMessage(e.data);
