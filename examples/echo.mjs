// The echo side of examples/round_trip.mjs: sends every message back where it came from.
export function startEcho(port) {
  port.onmessage = ({ data }) => port.postMessage(data);
}
