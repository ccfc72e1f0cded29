// throughput: 200k small messages one way, from the first post to the last onmessage.
// Plain JS that runs unchanged on v8mc, Node, Deno and Bun (workerd through benches/workerd).
{
  const N = 200000;
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  port2.onmessage = (e) => {
    if (++received === N) {
      if (e.data.i !== N - 1 || e.data.a[2] !== 3) throw new Error("wrong message");
      port1.close();
      port2.close();
      globalThis.__benchDone?.();
    }
  };
  for (let i = 0; i < N; i++) port1.postMessage({ i, s: "hello", a: [1, 2, 3] });
}
