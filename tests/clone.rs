//! structuredClone on V8's ValueSerializer.

use crate::setup::{assert_prints, run, run_with};
use v8_message_channel::Compat;

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

#[test]
fn every_typed_array_kind_arrives_as_itself_with_its_whole_buffer() {
  assert_prints(
    r#"
    const kinds = [Uint8Array, Uint8ClampedArray, Int8Array, Uint16Array, Int16Array, Uint32Array,
      Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView];
    if (typeof Float16Array === "function") kinds.push(Float16Array);
    const { port1, port2 } = new MessageChannel();
    const sent = [];
    port2.onmessage = ({ data }) => {
      const original = sent.shift();
      const same = data.constructor === original.constructor && data.byteOffset === original.byteOffset
        && data.byteLength === original.byteLength && data.buffer.byteLength === original.buffer.byteLength
        && data.buffer !== original.buffer;
      const bytes = new Uint8Array(data.buffer);
      const first = bytes[0], inView = bytes[data.byteOffset], last = bytes[bytes.length - 1];
      console.log(data.constructor.name, same, first, inView, last);
      if (sent.length === 0) port1.close();
    };
    for (const Kind of kinds) {
      // 64 KiB buffer, a view from byte 16 of 256 bytes: the clone carries the whole buffer.
      const buffer = new ArrayBuffer(1 << 16);
      const bytes = new Uint8Array(buffer);
      bytes[0] = 1; bytes[16] = 2; bytes[bytes.length - 1] = 3;
      const view = Kind === DataView ? new DataView(buffer, 16, 256)
        : new Kind(buffer, 16, 256 / Kind.BYTES_PER_ELEMENT);
      sent.push(view);
      port1.postMessage(view);
      bytes[16] = 99; // changed after posting: the receiver still sees the posted bytes
    }
    "#,
    &[
      "Uint8Array true 1 2 3",
      "Uint8ClampedArray true 1 2 3",
      "Int8Array true 1 2 3",
      "Uint16Array true 1 2 3",
      "Int16Array true 1 2 3",
      "Uint32Array true 1 2 3",
      "Int32Array true 1 2 3",
      "Float32Array true 1 2 3",
      "Float64Array true 1 2 3",
      "BigInt64Array true 1 2 3",
      "BigUint64Array true 1 2 3",
      "DataView true 1 2 3",
      "Float16Array true 1 2 3",
    ],
  );
}

#[test]
fn buffers_that_cannot_be_copied_plainly_still_follow_structured_clone() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = ({ data }) => console.log("received", data.byteLength);
    // A detached buffer (transferred away) cannot be cloned, however large it was.
    const big = new ArrayBuffer(1 << 20);
    const view = new Uint8Array(big);
    structuredClone(big, { transfer: [big] });
    try { port1.postMessage(big); } catch (e) { console.log(e.name); }
    try { port1.postMessage(view); } catch (e) { console.log(e.name); }
    // A large view on a resizable buffer keeps the buffer resizable.
    const resizable = new ArrayBuffer(1 << 16, { maxByteLength: 1 << 17 });
    const copy = structuredClone(new Uint8Array(resizable));
    console.log(copy.buffer.resizable, copy.buffer.maxByteLength);
    // The port keeps working after the failures.
    port1.postMessage(new ArrayBuffer(1 << 20));
    setTimeout(() => port1.close(), 0);
    "#,
    &[
      "DataCloneError",
      "DataCloneError",
      "true 131072",
      "received 1048576",
    ],
  );
}

#[test]
fn shared_array_buffers_are_shared_from_the_compatibility_date_on() {
  let script = r#"
    console.log("isolated", crossOriginIsolated);
    const shared = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = ({ data }) => {
      // The same memory: a write on the receiving side is seen by the sender.
      data.view[0] = 42;
      console.log("received", data.view.buffer !== shared, new Int32Array(shared)[0]);
      port1.close();
    };
    try {
      port1.postMessage({ view: new Int32Array(shared) });
      const copy = structuredClone(shared);
      new Int32Array(copy)[1] = 7;
      console.log("cloned", copy !== shared, new Int32Array(shared)[1]);
    } catch (e) { console.log(e.name); port1.close(); }
    "#;
  let outcome = run(script);
  outcome.expect_ok();
  assert_eq!(
    outcome.lines(),
    ["isolated true", "cloned true 7", "received true 42"]
  );
  let old = Compat::new("2026-12-01", &[]).unwrap();
  let outcome = run_with(old, script);
  outcome.expect_ok();
  assert_eq!(outcome.lines(), ["isolated false", "DataCloneError"]);
  let off = Compat::new(
    v8_message_channel::NEWEST_COMPATIBILITY_DATE,
    &["no_share_shared_array_buffers"],
  )
  .unwrap();
  assert_eq!(
    run_with(off, script).lines(),
    ["isolated false", "DataCloneError"]
  );
}
