// transfer: 200 messages of a 1 MiB buffer in the transfer list (moved, not copied).
{
  const N = 200;
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  const send = () => {
    const buffer = new ArrayBuffer(1 << 20);
    port1.postMessage(buffer, [buffer]);
    if (buffer.byteLength !== 0) throw new Error("not transferred");
  };
  port2.onmessage = (e) => {
    if (e.data.byteLength !== 1 << 20) throw new Error("bad buffer");
    if (++received === N) {
      port1.close();
      port2.close();
      globalThis.__benchDone?.();
    } else {
      send();
    }
  };
  send();
}
