// Cross-thread ping-pong: round trips between this thread and another over a Worker (Bun,
// Deno) or, in v8mc, over `link`, a port whose peer lives in a runtime on another thread
// (benches/threads.rs sets it up). Prints the time per round trip, measured in the script after
// a warm-up, so start-up is not counted.
const N = 100000;
const WARM = 2000;
const endpoint = globalThis.link ??
  new Worker(new URL("./worker_echo.mjs", import.meta.url).href, { type: "module" });
let received = 0;
let start = 0;
endpoint.onmessage = (e) => {
  received++;
  if (received === WARM) start = performance.now();
  if (received === WARM + N) {
    const perTrip = ((performance.now() - start) * 1000) / N;
    console.log(`round trip: ${perTrip.toFixed(3)} us`);
    if (typeof endpoint.terminate === "function") endpoint.terminate();
    else endpoint.close();
    return;
  }
  endpoint.postMessage(e.data + 1);
};
endpoint.postMessage(0);
