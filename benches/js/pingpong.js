// pingpong: 100k sequential round trips between the two ports of a channel.
{
  const N = 100000;
  const { port1, port2 } = new MessageChannel();
  let trips = 0;
  port2.onmessage = (e) => port2.postMessage(e.data);
  port1.onmessage = (e) => {
    if (++trips === N) {
      port1.close();
      port2.close();
      globalThis.__benchDone?.();
    } else {
      port1.postMessage(e.data + 1);
    }
  };
  port1.postMessage(0);
}
