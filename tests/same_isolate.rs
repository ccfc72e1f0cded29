//! Posting between ports of one runtime: whether the JS copy (js/11_message_copy.js) or the
//! serializer makes the message, it must come out exactly as V8's serializer would make it.
//! Hand-written cases (tests/copy.rs posts random values); most post a value and compare with
//! `structuredClone` (which always uses the serializer) of the same value.

use crate::setup::{assert_prints, block_on, runtime_with};
use v8_message_channel::{Compat, has_pending_work};

/// Runs `body` with `post(value)`: a promise of the value after a trip through a channel.
fn with_post(body: &str) -> String {
  format!(
    r#"
    const {{ port1, port2 }} = new MessageChannel();
    let pending;
    port2.onmessage = (e) => pending(e.data);
    const post = (value) => new Promise((resolve) => {{
      pending = resolve;
      port1.postMessage(value);
    }});
    (async () => {{
      {body}
      port1.close();
    }})().catch((e) => console.log("failed:", e));
    "#
  )
}

#[test]
fn plain_data_keeps_its_structure() {
  assert_prints(
    &with_post(
      r#"
      const cyclic = { name: "c" };
      cyclic.self = cyclic;
      cyclic.list = [cyclic, { back: cyclic }];
      const c = await post(cyclic);
      console.log(c !== cyclic, c.self === c, c.list[0] === c, c.list[1].back === c);

      const shared = { s: 1 };
      const s = await post({ x: shared, y: [shared, shared] });
      console.log(s.x === s.y[0], s.y[0] === s.y[1], s.x !== shared);

      const holes = await post([1, , 3, , 5]);
      console.log(holes.length, 1 in holes, 3 in holes, holes[2], Object.keys(holes).join());

      const prims = await post({ z: -0, n: NaN, b: 10n, u: undefined, t: true, s: "\u2603" });
      console.log(Object.is(prims.z, -0), Number.isNaN(prims.n), prims.b === 10n, "u" in prims, prims.t, prims.s);

      const keys = await post(JSON.parse('{"b": 1, "2": 2, "__proto__": {"p": 1}, "a": 3, "1": 4}'));
      console.log(Object.keys(keys).join(), Object.getPrototypeOf(keys) === Object.prototype, keys.__proto__.p);

      const long = Array.from({ length: 40 }, (_, i) => (i % 2 ? { i } : [i]));
      const l = await post(long);
      console.log(l.length, Array.isArray(l), l[39].i, l[38][0], Object.getPrototypeOf(l) === Array.prototype);

      const wide = {};
      for (let i = 0; i < 50; i++) wide["k" + i] = i;
      const w = await post(wide);
      console.log(Object.keys(w).length, w.k0, w.k49, Object.keys(w).join() === Object.keys(wide).join());

      const odd = { ['a"b\\c']: 1, ["\u2028"]: 2, [""]: 3, ["x y"]: 4, ["\ud800"]: 5 };
      const o = await post(odd);
      console.log(JSON.stringify(Object.keys(o)) === JSON.stringify(Object.keys(odd)), Object.values(o).join());

      const d = Object.getOwnPropertyDescriptor(await post({ v: 1 }), "v");
      console.log(d.writable, d.enumerable, d.configurable);
      "#,
    ),
    &[
      "true true true true",
      "true true true",
      "5 false false 3 0,2,4",
      "true true true true true \u{2603}",
      "1,2,b,__proto__,a true 1",
      "40 true 39 38 true",
      "50 0 49 true",
      "true 1,2,3,4,5",
      "true true true",
    ],
  );
}

#[test]
fn getters_run_once_in_the_serializers_order() {
  assert_prints(
    &with_post(
      r#"
      const make = (log) => ({
        get a() { log.push("a"); return { get inner() { log.push("inner"); return 1; } }; },
        b: [{ get c() { log.push("c"); return 2; } }],
        get d() { log.push("d"); delete this.e; return 3; },
        e: "deleted before it is read",
      });
      const viaSerializer = [];
      const expected = structuredClone(make(viaSerializer));
      const viaPost = [];
      const got = await post(make(viaPost));
      console.log(viaPost.join(), viaPost.join() === viaSerializer.join());
      console.log(JSON.stringify(got), JSON.stringify(got) === JSON.stringify(expected));
      "#,
    ),
    &[
      "a,inner,c,d true",
      r#"{"a":{"inner":1},"b":[{"c":2}],"d":3} true"#,
    ],
  );
}

#[test]
fn values_for_the_serializer_keep_identity_and_order() {
  assert_prints(
    &with_post(
      r#"
      const buffer = new ArrayBuffer(8);
      const leaves = await post({
        date: new Date(5), re: /x/gi, num: new Number(3), u8: new Uint8Array(buffer, 2),
        f64: new Float64Array(buffer), again: buffer,
      });
      console.log(leaves.date.getTime(), String(leaves.re), leaves.num instanceof Number);
      console.log(leaves.u8.buffer === leaves.f64.buffer, leaves.again === leaves.f64.buffer, leaves.u8.byteOffset);

      const inner = { shared: true };
      const mixed = await post({ inner, map: new Map([[1, inner]]), set: new Set([inner]), error: new RangeError("r") });
      console.log(mixed.map.get(1) === mixed.inner, [...mixed.set][0] === mixed.inner, mixed.error instanceof RangeError);

      class Point { constructor() { this.x = 1; } }
      const point = await post({ p: new Point(), list: [new Point()] });
      console.log(Object.getPrototypeOf(point.p) === Object.prototype, point.p.x, point.list[0].x);

      const order = [];
      port2.onmessage = (e) => order.push(JSON.stringify(e.data));
      port1.postMessage({ a: 1 });
      port1.postMessage(2);
      port1.postMessage({ m: new Map() });
      port1.postMessage([3]);
      port1.postMessage("four");
      port1.postMessage({ empty: "transfer list" }, []);
      const buffer2 = new ArrayBuffer(2);
      port1.postMessage({ moved: buffer2 }, [buffer2]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      console.log(order.join(" "));
      "#,
    ),
    &[
      "5 /x/gi true",
      "true true 2",
      "true true true",
      "true 1 1",
      r#"{"a":1} 2 {"m":{}} [3] "four" {"empty":"transfer list"} {"moved":{}}"#,
    ],
  );
}

#[test]
fn a_getter_then_a_map_runs_the_getter_once() {
  assert_prints(
    &with_post(
      r#"
      let calls = 0;
      const got = await post({ get g() { calls++; return "g"; }, m: new Map([["k", { v: 1 }]]) });
      console.log(calls, got.g, got.m.get("k").v);
      "#,
    ),
    &["1 g 1"],
  );
}

#[test]
fn unclonable_values_throw_the_serializers_error_and_nothing_is_sent() {
  assert_prints(
    &with_post(
      r#"
      const problems = [
        { f() {} },
        [1, Symbol("s")],
        { deep: { p: new Proxy({}, { ownKeys() { console.log("trap ran"); return []; } }) } },
        { event: new Event("x") },
      ];
      for (const value of problems) {
        let expected;
        try { structuredClone(value); } catch (e) { expected = e; }
        try {
          port1.postMessage(value);
          console.log("no error");
        } catch (e) {
          console.log(e.name, e instanceof DOMException, e.message === expected.message);
        }
      }
      const after = await post({ still: "working" });
      console.log(after.still);
      "#,
    ),
    &[
      "DataCloneError true true",
      "DataCloneError true true",
      "DataCloneError true true",
      "DataCloneError true true",
      "working",
    ],
  );
}

#[test]
fn getter_side_effects_on_the_ports_stay_consistent() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (e) => got.push(JSON.stringify(e.data));
    // A getter that posts: its message is queued first, as with the serializer.
    port1.postMessage({ get a() { port1.postMessage({ nested: true }); return 1; }, b: 2 });
    // A getter that throws: nothing is sent.
    try { port1.postMessage({ get a() { throw new Error("boom"); } }); } catch (e) { got.push(e.message); }
    port1.postMessage({ last: 1 });
    setTimeout(() => {
      console.log(got.join(" "));
      const second = new MessageChannel();
      // The receiver closes while the message is being copied: it is dropped, and posting goes on.
      second.port2.onmessage = (e) => console.log("unexpected", e.data);
      second.port1.postMessage({ get a() { second.port2.close(); return 1; } });
      second.port1.postMessage({ after: "close" });
      setTimeout(() => { console.log("done"); port1.close(); }, 10);
    }, 10);
    "#,
    &[r#"boom {"nested":true} {"a":1,"b":2} {"last":1}"#, "done"],
  );
}

#[test]
fn rebuilding_never_calls_setters_on_the_prototypes() {
  assert_prints(
    &with_post(
      r#"
      for (const key of ["a", "0", "1", "__proto__x"]) {
        Object.defineProperty(Object.prototype, key, { set() { console.log("setter", key); }, configurable: true });
      }
      Object.defineProperty(Array.prototype, "0", { set() { console.log("array setter"); }, configurable: true });
      const wide = {};
      for (let i = 0; i < 40; i++) wide["w" + i] = i;
      Object.defineProperty(wide, "a", { value: "A", enumerable: true });
      const got = await post({ a: 1, 0: "zero", list: [[1, , 3], Array.from({ length: 20 }, () => 0)], wide });
      console.log(got.a, got[0], got.list[0][0], got.list[0].length, got.list[1][0], got.wide.a);
      "#,
    ),
    &["1 zero 1 3 0 A"],
  );
}

#[test]
fn many_shapes_and_long_queues_arrive_intact() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const N = 30000;
    let received = 0, bad = 0;
    port2.onmessage = (e) => {
      const d = e.data, i = received++;
      if (d["k" + (i % 700)] !== i || d.list.length !== (i % 5) || d.tag !== "t") bad++;
      if (received === N) { console.log(received, bad); port1.close(); }
    };
    for (let i = 0; i < N; i++) {
      // 700 key sets: more than the tape compiles object factories for.
      port1.postMessage({ ["k" + (i % 700)]: i, list: Array.from({ length: i % 5 }, () => ({ i })), tag: "t" });
    }
    "#,
    &["30000 0"],
  );
}

#[test]
fn shapes_that_needed_the_serializer_still_arrive_exactly() {
  assert_prints(
    &with_post(
      r#"
      // One root key list, with a data `g` and a Map inside (the copy takes it) or a getter `g`
      // and a plain object (the serializer takes it): results and getter calls must not depend
      // on which path ran.
      let calls = 0, bad = 0;
      for (let i = 0; i < 300; i++) {
        const withMap = i % 3 === 0;
        const message = withMap
          ? { g: i, inner: new Map([["i", i]]) }
          : { get g() { calls++; return i; }, inner: { i } };
        const got = await post(message);
        const value = got.inner instanceof Map ? got.inner.get("i") : got.inner.i;
        if (got.g !== i || value !== i || withMap !== (got.inner instanceof Map)) bad++;
      }
      console.log(calls, bad);
      "#,
    ),
    &["200 0"],
  );
}

#[test]
fn deeply_nested_messages_arrive_whole() {
  assert_prints(
    &with_post(
      r#"
      // The copy takes 256 levels; deeper messages go to the serializer whole.
      const make = (n) => { let d = { leaf: true }; for (let i = 0; i < n; i++) d = i % 2 ? { d } : [d]; return d; };
      const depthOf = (x) => { let n = 0; while (!x.leaf) { x = Array.isArray(x) ? x[0] : x.d; n++; } return n; };
      const depths = [];
      for (const n of [10, 256, 257, 2000]) depths.push(depthOf(await post(make(n))));
      let calls = 0;
      const got = await post({ get g() { calls++; return 1; }, deep: make(1000) });
      console.log(depths.join(), depthOf(got.deep), got.g, calls);
      "#,
    ),
    &["10,256,257,2000 1000 1 1"],
  );
}

#[test]
fn copies_and_serialized_messages_keep_their_place_among_all_queued_tasks() {
  // Copies, serialized messages, other channels, an unstarted port and a close: every message
  // comes out in post order with everything else.
  assert_prints(
    r#"
    const log = [];
    const a = new MessageChannel(), b = new MessageChannel();
    a.port2.onmessage = (e) => log.push("a:" + JSON.stringify(e.data instanceof Map ? [...e.data] : e.data));
    b.port2.onmessage = (e) => log.push("b:" + JSON.stringify(e.data));
    const pending = new MessageChannel();
    for (let i = 0; i < 3; i++) a.port1.postMessage({ i });
    a.port1.postMessage(3);
    for (let i = 4; i < 6; i++) a.port1.postMessage({ i });
    b.port1.postMessage({ b: 0 });
    a.port1.postMessage({ i: 6 });
    a.port1.postMessage(new Map([["i", 7]]));
    a.port1.postMessage({ i: 8, m: new Map() });
    a.port1.postMessage([9]);
    b.port1.postMessage({ b: 1 });
    for (let i = 0; i < 4; i++) pending.port1.postMessage({ p: i });
    queueMicrotask(() => a.port1.postMessage({ i: "micro" }));
    a.port1.postMessage({ i: 10 });
    const closing = new MessageChannel();
    closing.port2.onmessage = (e) => log.push("c:" + JSON.stringify(e.data));
    closing.port1.postMessage({ c: 0 });
    closing.port1.postMessage({ c: 1 });
    closing.port1.close();
    setTimeout(() => {
      pending.port2.onmessage = (e) => log.push("p:" + JSON.stringify(e.data));
      pending.port1.postMessage({ p: "after start" });
      setTimeout(() => { console.log(log.join(" ")); a.port1.close(); b.port1.close(); pending.port1.close(); }, 5);
    }, 5);
    "#,
    &[concat!(
      r#"a:{"i":0} a:{"i":1} a:{"i":2} a:3 a:{"i":4} a:{"i":5} b:{"b":0} a:{"i":6} a:[["i",7]] "#,
      r#"a:{"i":8,"m":{}} a:[9] b:{"b":1} a:{"i":10} c:{"c":0} c:{"c":1} a:{"i":"micro"} "#,
      r#"p:{"p":0} p:{"p":1} p:{"p":2} p:{"p":3} p:{"p":"after start"}"#
    )],
  );
}

#[test]
fn queued_messages_are_seen_by_the_embedder_api_and_the_receiver() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "queued.js",
      r#"
      globalThis.waiting = new MessageChannel();
      for (let i = 0; i < 1000; i++) waiting.port1.postMessage({ i });
      globalThis.started = new MessageChannel();
      started.port2.onmessage = (e) => { if (e.data.i === 499) console.log("all 500"); };
      for (let i = 0; i < 500; i++) started.port1.postMessage({ i });
      "#,
    )
    .unwrap();
  assert_eq!(runtime.queued_messages(), 1500);
  // What an embedder driving its own loop asks before sleeping.
  assert!(runtime.with_context(|scope| has_pending_work(scope)));
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(
    runtime.queued_messages(),
    1000,
    "the unstarted port keeps its messages"
  );
  runtime
    .execute_script("close.js", "waiting.port2.close(); started.port1.close();")
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(runtime.queued_messages(), 0);
  assert_eq!(captured.borrow().0, "all 500\n");
}

#[test]
fn kinds_stay_exact_once_the_copy_is_optimized() {
  // After a few thousand posts the copy runs as optimized code, which calls cloneKind and
  // portPostLocal as V8 fast API calls (src/context/natives.rs): their answers must stay those
  // of the ordinary calls.
  assert_prints(
    r#"
    class Point { constructor() { this.x = 1; } }
    const makers = [
      (i) => ({ i, list: [i, [i]] }),
      (i) => [i, { i }],
      (i) => ({ i, when: new Date(i) }),
      (i) => ({ i, map: new Map([[i, i]]) }),
      (i) => ({ i, point: new Point() }),
      (i) => ({ i, odd: Reflect.construct(Map, [], Object) }),
      (i) => ({ i, named: Object.assign([i], { extra: i }) }),
      (i) => ({ i, hidden: new Proxy({}, {}) }),
    ];
    const N = 40000;
    const { port1, port2 } = new MessageChannel();
    const seen = new Array(makers.length).fill(0);
    let thrown = 0, received = 0, bad = 0;
    port2.onmessage = ({ data }) => {
      received++;
      const i = Array.isArray(data) ? data[0] : data.i;
      const k = i % makers.length;
      seen[k]++;
      const ok = [
        () => data.list[1][0] === i && Array.isArray(data.list[1]),
        () => data[1].i === i,
        () => data.when instanceof Date && +data.when === i,
        () => data.map instanceof Map && data.map.get(i) === i,
        () => Object.getPrototypeOf(data.point) === Object.prototype && data.point.x === 1,
        () => data.odd instanceof Map,
        () => data.named.extra === i && data.named[0] === i,
      ][k];
      if (!ok()) bad++;
      if (received === N - N / makers.length) {
        console.log(received, thrown, bad, seen.join());
        port1.close();
      }
    };
    for (let i = 0; i < N; i++) {
      try { port1.postMessage(makers[i % makers.length](i)); }
      catch (e) { if (e.name === "DataCloneError") thrown++; }
    }
    "#,
    &["35000 5000 0 5000,5000,5000,5000,5000,5000,5000,0"],
  );
}

#[test]
fn kinds_read_from_object_headers_match_the_serializer() {
  // src/clone/kind.rs answers from hidden classes for ordinary objects and arrays and from V8's
  // type checks for builtins; what it cannot prove goes to the serializer. Either way the
  // receiver must get what structuredClone (V8's serializer) makes, at the root of a message
  // and inside it.
  assert_prints(
    &with_post(
      r#"
      const describe = (v, depth = 0) => {
        if (typeof v !== "object" || v === null) return typeof v + ":" + String(v);
        const proto = Object.getPrototypeOf(v);
        const kind = Array.isArray(v) ? "array" : v instanceof Map ? "map" + v.size
          : proto === Object.prototype ? "object" : proto === null ? "null" : "other";
        // An error's stack names the line that made it, which differs between the two runs.
        const keys = Reflect.ownKeys(v).map(String).filter((k) => k !== "stack");
        return kind + "{" + keys.map((k) => k + "=" + (depth < 3 ? describe(v[k], depth + 1) : "")).join() + "}";
      };
      const outcome = async (send, value) => {
        try { return describe(await send(value)); } catch (e) { return "throws " + e.name; }
      };
      const withNamed = (a, key, enumerable) => {
        Object.defineProperty(a, key, { value: "x", enumerable, writable: true, configurable: true });
        return a;
      };
      const cases = {
        smi: () => [1, 2, 3], double: () => [0.5, 1.5], objects: () => [{ a: 1 }, "s"],
        holeySmi: () => [1, , 3], holeyDouble: () => [0.5, , 1], holeyObjects: () => [{}, , {}],
        empty: () => [], grown: () => { const a = [1, 2]; a.push(0.5); a.push({}); return a; },
        named: () => withNamed([1, 2], "extra", true), hidden: () => withNamed([1], "hidden", false),
        namedLater: () => { const a = [1]; a.later = 2; delete a.later; a.again = 3; return a; },
        frozen: () => Object.freeze([1, 2]), nullProto: () => Object.setPrototypeOf([1], null),
        objectProto: () => Object.setPrototypeOf([1], Object.prototype),
        subclass: () => { class List extends Array {} return List.of(1, 2); },
        sparse: () => { const a = [1]; a[50000] = 2; return a; },
        plain: () => ({ a: 1, b: [2] }), nullObject: () => Object.assign(Object.create(null), { a: 1 }),
        getter: () => ({ get g() { return 1; } }),
        arrayProtoObject: () => Object.setPrototypeOf({ a: 1 }, Array.prototype),
        mapAsObject: () => Object.setPrototypeOf(new Map([[1, 2]]), Object.prototype),
        weakRefAsObject: () => Object.setPrototypeOf(new WeakRef({}), Object.prototype),
        iteratorAsObject: () => Object.setPrototypeOf([1].values(), Object.prototype),
        dateAsObject: () => Object.setPrototypeOf(new Date(0), Object.prototype),
        errorAsObject: () => Object.setPrototypeOf(new Error("e"), Object.prototype),
        // Getters that change the array being copied.
        packedShrunk: () => { const a = [{ get g() { a.length = 1; return 1; } }, 2, 3]; return a; },
        packedHoled: () => { const a = [{ get g() { delete a[2]; return 1; } }, 2, 3]; return a; },
        packedProtoIndex: () => {
          const a = [[{ get g() {
            delete a[1];
            Object.defineProperty(Array.prototype, 1, { get() { return "from the prototype"; }, configurable: true });
            return 1;
          } }], 2];
          return a;
        },
        // A getter that deletes itself.
        firstKeyDeletesItself: () => ({ get a() { delete this.a; return 1; }, b: 2 }),
      };
      const serializer = async (v) => structuredClone(v);
      const differences = [];
      for (const [name, make] of Object.entries(cases)) {
        for (const [where, wrap] of [["root", (v) => v], ["nested", (v) => ({ v: [v] })]]) {
          const expected = await outcome(serializer, wrap(make()));
          delete Array.prototype[1];
          const got = await outcome(post, wrap(make()));
          delete Array.prototype[1];
          if (got !== expected) differences.push(`${name} ${where}: ${got} instead of ${expected}`);
        }
      }
      console.log(Object.keys(cases).length, "cases;", differences.join("; ") || "no difference");
      const weak = await outcome(post, { v: cases.weakRefAsObject() });
      console.log(weak);
      "#,
    ),
    &["29 cases; no difference", "throws DataCloneError"],
  );
}

#[test]
fn maps_and_sets_that_hold_themselves_or_their_holders_keep_identity() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const o = { name: "o" };
    o.m = new Map([["o", o]]);
    const s = new Set(); s.add(s);
    const m = new Map(); m.set(m, m);
    const check = ([a, b, c]) => [
      a.m.get("o") === a, Object.keys(a.m).length,
      b.has(b), b.size,
      c.get(c) === c, c.size,
    ].join(" ");
    port2.onmessage = (e) => {
      console.log("posted", check(e.data));
      port2.close();
    };
    console.log("cloned", check(structuredClone([o, s, m])));
    port1.postMessage([o, s, m]);
    "#,
    &["cloned true 0 true 1 true 1", "posted true 0 true 1 true 1"],
  );
}

#[test]
fn a_prototype_chain_changed_after_a_copy_is_checked_again() {
  // An instance of a class is copied once; then its class's prototype comes to inherit from
  // a platform prototype, and the next post must refuse it as structuredClone does.
  assert_prints(
    r#"
    class Point { constructor() { this.x = 1; } }
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("got", JSON.stringify(e.data));
    for (let i = 0; i < 3; i++) port1.postMessage(new Point());
    Object.setPrototypeOf(Point.prototype, MessagePort.prototype);
    try { structuredClone(new Point()); } catch (e) { console.log("structuredClone:", e.name); }
    try { port1.postMessage(new Point()); } catch (e) { console.log("postMessage:", e.name); }
    setTimeout(() => port1.close(), 0);
    "#,
    &[
      "structuredClone: DataCloneError",
      "postMessage: DataCloneError",
      "got {\"x\":1}",
      "got {\"x\":1}",
      "got {\"x\":1}",
    ],
  );
}

#[test]
fn the_five_ways_the_old_copy_differed_from_structured_clone() {
  // Each value is made twice by a factory (getters have side effects): one goes through
  // structuredClone, the other through a port, and a description of both must match.
  assert_prints(
    &with_post(
      r#"
      const describe = (v) => JSON.stringify(v, (k, x) =>
        x instanceof Map ? { map: [...x] } : x instanceof Set ? { set: [...x] } :
        Array.isArray(x) ? Object.fromEntries(Array.from({ length: x.length }, (_, i) => [i, i in x ? x[i] : "hole"])) :
        x === undefined ? "undefined" : x);
      const cases = {
        // 1. A non-enumerable array element: V8 leaves a hole.
        nonEnumerableElement: () => {
          const a = [1, 2, 3];
          Object.defineProperty(a, 1, { value: 9, enumerable: false });
          return a;
        },
        // 2. A getter that adds an element to a holey array while it is read: V8 lists the
        // indices once, before reading any.
        holeFilledByGetter: () => {
          const a = [1, , 3];
          Object.defineProperty(a, 0, { get() { a[1] = 7; return 1; }, enumerable: true, configurable: true });
          return a;
        },
        // 3. A getter that deletes or redefines itself, then a Map: read once.
        selfRedefiningGetter: () => {
          const o = { get x() { delete o.x; o.x = 5; return 1; }, m: new Map([[1, 2]]) };
          return o;
        },
        // 4. An accessor first, then objects sharing references and a cycle through a class
        // instance: one copy of each, getters once.
        sharedAfterAccessor: () => {
          let calls = 0;
          class C { constructor() { this.v = 1; } }
          const shared = new C();
          const root = { get a() { calls++; return calls; }, s1: shared, s2: new Map([[1, shared]]) };
          shared.root = root;
          return root;
        },
        // 5. An unclonable value inside a Map, then a throwing getter: the DataCloneError wins.
        unclonableInMapThenThrowingGetter: () => ({
          m: new Map([[1, () => {}]]),
          get z() { throw new Error("getter"); },
        }),
      };
      for (const [name, make] of Object.entries(cases)) {
        let cloned, posted;
        try { cloned = structuredClone(make()); } catch (e) { cloned = `${e.name}`; }
        try { posted = await post(make()); } catch (e) { posted = `${e.name}`; }
        const identity = typeof cloned === "object" && cloned.s1
          ? [cloned.s1 === cloned.s2.get(1), cloned.s1.root === cloned].join()
          : "";
        const postedIdentity = typeof posted === "object" && posted.s1
          ? [posted.s1 === posted.s2.get(1), posted.s1.root === posted].join()
          : "";
        const same = typeof cloned === "string"
          ? cloned === posted
          : Array.isArray(cloned)
            ? describe(cloned) === describe(posted)
            : describe({ ...cloned, s1: 0, s2: 0 }) === describe({ ...posted, s1: 0, s2: 0 }) &&
              identity === postedIdentity;
        console.log(name, same, typeof cloned === "string" ? cloned : identity || describe(cloned));
      }
      "#,
    ),
    &[
      "nonEnumerableElement true {\"0\":1,\"1\":\"hole\",\"2\":3}",
      "holeFilledByGetter true {\"0\":1,\"1\":\"hole\",\"2\":3}",
      "selfRedefiningGetter true {\"x\":1,\"m\":{\"map\":{\"0\":{\"0\":1,\"1\":2}}}}",
      "sharedAfterAccessor true true,true",
      "unclonableInMapThenThrowingGetter true DataCloneError",
    ],
  );
}
