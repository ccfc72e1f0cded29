//! structuredClone on V8's ValueSerializer.

use crate::setup::assert_prints;

#[test]
fn structured_clone_round_trips_the_serializable_types() {
  assert_prints(
    r#"
    const source = {
      map: new Map([[1, { a: "b" }]]), set: new Set([1, 2]), date: new Date(5), re: /x+/gi,
      big: 12345678901234567890n, typed: new Float64Array([1.5]), nested: [[[]]], str: new String("s"),
      err: new RangeError("r"), undef: undefined, neg: -0,
    };
    source.cycle = source;
    const copy = structuredClone(source);
    console.log(copy !== source, copy.cycle === copy, copy.map.get(1).a, copy.set.has(2), copy.date.getTime());
    console.log(copy.re.source, copy.re.flags, copy.big, copy.typed[0], copy.nested[0][0].length, copy.str instanceof String);
    console.log(copy.err instanceof RangeError, copy.err.message, "undef" in copy, Object.is(copy.neg, -0));
    "#,
    &[
      "true true b true 5",
      "x+ gi 12345678901234567890n 1.5 0 true",
      "true r true true",
    ],
  );
}

#[test]
fn structured_clone_transfers_array_buffers() {
  assert_prints(
    r#"
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const copy = structuredClone({ buffer }, { transfer: [buffer] });
    console.log(buffer.byteLength, buffer.detached, new Uint8Array(copy.buffer).join(","));
    for (const transfer of [[buffer], [new ArrayBuffer(1), 1], [{}]]) {
      try { structuredClone(1, { transfer }); console.log("no throw"); }
      catch (e) { console.log(e.name); }
    }
    const twice = new ArrayBuffer(1);
    try { structuredClone(twice, { transfer: [twice, twice] }); } catch (e) { console.log(e.name, twice.byteLength); }
    "#,
    &[
      "0 true 1,2,3",
      "DataCloneError",
      "TypeError",
      "DataCloneError",
      "DataCloneError 1",
    ],
  );
}

#[test]
fn structured_clone_refuses_unclonable_values() {
  assert_prints(
    r#"
    for (const value of [function f() {}, Symbol(), new EventTarget(), new AbortController(), new MessageChannel(), new WeakMap()]) {
      try { structuredClone(value); console.log("cloned"); }
      catch (e) { console.log(e instanceof DOMException ? e.name : e.constructor.name); }
    }
    try { structuredClone(); } catch (e) { console.log(e.constructor.name); }
    "#,
    &[
      "DataCloneError",
      "DataCloneError",
      "DataCloneError",
      "DataCloneError",
      "DataCloneError",
      "DataCloneError",
      "TypeError",
    ],
  );
}

#[test]
fn large_buffers_are_copied_once_and_keep_their_shape() {
  assert_prints(
    r#"
    const big = new Uint8Array(1 << 20);
    big[0] = 1; big[big.length - 1] = 2;
    const view = new Int16Array(big.buffer, 1024, 100);
    view[0] = -7;
    const copy = structuredClone(view);
    console.log(copy instanceof Int16Array, copy.length, copy.byteOffset, copy[0], copy.buffer.byteLength);
    console.log(big.buffer.byteLength, copy.buffer !== big.buffer);
    const whole = structuredClone(big.buffer);
    console.log(whole.byteLength, new Uint8Array(whole)[0], new Uint8Array(whole)[(1 << 20) - 1]);
    const dv = structuredClone(new DataView(big.buffer, 8));
    console.log(dv instanceof DataView, dv.byteOffset, dv.byteLength);
    const resizable = new ArrayBuffer(1 << 17, { maxByteLength: 1 << 18 });
    const r = structuredClone(new Uint8Array(resizable));
    console.log(r.buffer.resizable, r.buffer.maxByteLength, r.length);
    r.buffer.resize(1 << 18);
    console.log(r.length);
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("received", e.data.length, e.data[0], e.data[e.data.length - 1]);
    port1.postMessage(big);
    big[0] = 99;
    console.log("sender keeps its buffer", big.length, big[0]);
    "#,
    &[
      "true 100 1024 -7 1048576",
      "1048576 true",
      "1048576 1 2",
      "true 8 1048568",
      "true 262144 131072",
      "262144",
      "sender keeps its buffer 1048576 99",
      "received 1048576 1 2",
    ],
  );
}
