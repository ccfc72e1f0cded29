// startup: the process wall time of a script that creates one channel.
{
  const { port1, port2 } = new MessageChannel();
  port1.close();
  port2.close();
  globalThis.__benchDone?.();
}
