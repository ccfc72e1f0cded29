// Loads the echo side of a channel on demand with import(), then times message round trips
// with performance.now(). Run it with `cargo run -- run examples/round_trip.mjs`.
const { startEcho } = await import("./echo.mjs");

const { port1, port2 } = new MessageChannel();
startEcho(port2);

const rounds = 1000;
const start = performance.now();
port1.onmessage = ({ data }) => {
  if (data.n < rounds) {
    port1.postMessage({ n: data.n + 1 });
    return;
  }
  const elapsed = performance.now() - start;
  console.log(`${rounds} round trips in ${elapsed.toFixed(2)} ms`);
  port1.close();
};
port1.postMessage({ n: 1 });
