// clone: 20k structuredClone calls of a ~1 KB object graph.
{
  const N = 20000;
  const graph = {
    id: 12345,
    name: "a moderately sized object graph",
    tags: ["alpha", "beta", "gamma", "delta"],
    created: new Date(0),
    nested: { list: Array.from({ length: 20 }, (_, i) => ({ i, label: `item ${i}`, ok: i % 2 === 0 })) },
    map: new Map([["one", 1], ["two", 2]]),
  };
  let last;
  for (let i = 0; i < N; i++) last = structuredClone(graph);
  if (last.nested.list[19].label !== "item 19") throw new Error("bad clone");
  globalThis.__benchDone?.();
}
