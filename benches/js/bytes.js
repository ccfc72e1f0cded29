// bytes: 200 messages of a 1 MiB Uint8Array, copied (not transferred), one at a time.
{
  const N = 200;
  const payload = new Uint8Array(1 << 20).fill(7);
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  port2.onmessage = (e) => {
    if (e.data.byteLength !== payload.byteLength || e.data[12345] !== 7) throw new Error("bad copy");
    if (++received === N) {
      port1.close();
      port2.close();
      globalThis.__benchDone?.();
    } else {
      port1.postMessage(payload);
    }
  };
  port1.postMessage(payload);
}
