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
