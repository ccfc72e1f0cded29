//! Limits: nesting too deep for the stack, messages over the size limit, and a flooded port.
//! Each is refused or bounded with a clear error, and the port goes on working.

use crate::setup::{assert_prints, block_on, runtime_from, runtime_with};
use v8_message_channel::{Compat, DEFAULT_MAX_MESSAGE_SIZE, Runtime, RuntimeOptions};

#[test]
fn nesting_too_deep_is_a_range_error_and_the_port_goes_on() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => { console.log("got", e.data); port2.close(); };
    const deep = {
      array: () => { let v = []; for (let i = 0; i < 300000; i++) v = [v]; return v; },
      object: () => { let v = {}; for (let i = 0; i < 300000; i++) v = { v }; return v; },
      map: () => { let v = new Map(); for (let i = 0; i < 300000; i++) v = new Map([[1, v]]); return v; },
    };
    for (const [name, make] of Object.entries(deep)) {
      const value = make();
      for (const [how, send] of [["postMessage", (v) => port1.postMessage(v)], ["structuredClone", structuredClone]]) {
        try { send(value); console.log(name, how, "sent"); }
        catch (e) { console.log(name, how, e.constructor.name); }
      }
    }
    port1.postMessage("still working");
    "#,
    &[
      "array postMessage RangeError",
      "array structuredClone RangeError",
      "object postMessage RangeError",
      "object structuredClone RangeError",
      "map postMessage RangeError",
      "map structuredClone RangeError",
      "got still working",
    ],
  );
}

#[test]
fn a_long_chain_of_ports_in_transit_closes_without_overflowing_the_stack() {
  // Each port waits in the queue of the next one's peer: closing the last closes them all, one
  // queue inside the other (this overflowed the stack when dropped recursively). And the same
  // chain with its head collected instead of closed.
  assert_prints(
    r#"
    function chain(length) {
      let last = new MessageChannel();
      for (let i = 0; i < length; i++) {
        const next = new MessageChannel();
        next.port2.postMessage(i, [last.port1]);
        last = next;
      }
      return last;
    }
    const closed = chain(50000);
    closed.port2.onclose = () => console.log("the closed chain's peer heard close");
    closed.port1.close();
    const dropped = chain(50000).port2;
    dropped.onclose = () => console.log("the dropped chain's peer heard close");
    "#,
    &[
      "the closed chain's peer heard close",
      "the dropped chain's peer heard close",
    ],
  );
}

#[test]
fn long_transfer_lists_are_checked_and_carried_out() {
  // Duplicates are found by hash (a search per entry took minutes for 100k buffers).
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const buffers = Array.from({ length: 50000 }, (_, i) => new Uint8Array([i % 256]).buffer);
    const ports = Array.from({ length: 5000 }, () => new MessageChannel().port1);
    try { port1.postMessage(null, [...buffers, ...ports, buffers[49999]]); }
    catch (e) { console.log(e.name, e.message, buffers[0].byteLength); }
    try { structuredClone(null, { transfer: [...ports, ports[4999]] }); }
    catch (e) { console.log(e.name, e.message, buffers[0].byteLength); }
    port1.postMessage({ buffers, ports }, [...buffers, ...ports]);
    console.log("sent", buffers.every((b) => b.detached));
    port2.onmessage = ({ data, ports: arrived }) => {
      const intact = data.buffers.every((b, i) => new Uint8Array(b)[0] === i % 256);
      console.log("got", data.buffers.length, intact, arrived.length, data.ports[4999] === arrived[4999]);
      port2.close();
    };
    "#,
    &[
      "DataCloneError ArrayBuffer at index 55000 is already in the transfer list. 1",
      "DataCloneError MessagePort at index 5000 is already in the transfer list. 1",
      "sent true",
      "got 50000 true 5000 true",
    ],
  );
}

fn limited(limit: usize) -> (Runtime, crate::setup::Captured) {
  runtime_from(RuntimeOptions {
    compat: Compat::latest(),
    max_message_size: Some(limit),
    ..Default::default()
  })
}

#[test]
fn a_message_over_the_size_limit_is_a_data_clone_error_and_nothing_is_sent() {
  let (mut runtime, captured) = limited(1000);
  runtime
    .execute_script(
      "limit.js",
      r#"
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = (e) => {
        const d = e.data;
        console.log("got", typeof d === "string" ? `string ${d.length}` : `${d.constructor.name} ${d.byteLength ?? d.length}`);
      };
      const post = (label, value, transfer) => {
        try { port1.postMessage(value, transfer); }
        catch (e) { console.log(label, e.name, e.message); }
      };
      post("string", "x".repeat(2000));
      post("buffer", new ArrayBuffer(2000));
      post("object", { text: "y".repeat(600), more: "z".repeat(600) });
      // A transfer list stays attached when the message is refused.
      const kept = new ArrayBuffer(8);
      post("with transfer", "x".repeat(2000), [kept]);
      console.log("kept attached", kept.byteLength);
      // Under the limit: the copy's bound is no excuse to refuse (200 small numbers are ~400
      // bytes serialized).
      post("numbers", new Array(200).fill(1));
      post("small", "x".repeat(100));
      // At the limit exactly (2 bytes of header, 3 of tag and length): sent; a byte over: not.
      post("at the limit", "x".repeat(995));
      post("a byte over", "x".repeat(996));
      // A transferred buffer is moved, not copied: it does not count.
      const moved = new ArrayBuffer(5000);
      post("moved", moved, [moved]);
      // structuredClone is no message.
      console.log("structuredClone", structuredClone("x".repeat(5000)).length);
      setTimeout(() => port1.close(), 0);
      "#,
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  let over = "bytes when serialized, over this runtime's limit of 1000 bytes.";
  assert_eq!(
    captured.borrow().0,
    format!(
      "string DataCloneError The message is 2005 {over}\n\
       buffer DataCloneError The message is 2005 {over}\n\
       object DataCloneError The message is 1223 {over}\n\
       with transfer DataCloneError The message is 2005 {over}\n\
       kept attached 8\n\
       a byte over DataCloneError The message is 1001 {over}\n\
       structuredClone 5000\n\
       got Array 200\n\
       got string 100\n\
       got string 995\n\
       got ArrayBuffer 5000\n"
    )
  );
}

#[test]
fn the_default_size_limit_is_generous() {
  assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 256 << 20);
  // 16 MiB of data goes through (a string and a buffer), either way it is copied.
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    let n = 0;
    port2.onmessage = (e) => {
      console.log(typeof e.data === "string" ? e.data.length : e.data.byteLength);
      if (++n === 2) port2.close();
    };
    port1.postMessage("x".repeat(16 << 20));
    port1.postMessage(new ArrayBuffer(16 << 20));
    "#,
    &["16777216", "16777216"],
  );
}

#[test]
fn a_flooded_port_grows_linearly_and_frees_its_queue_when_closed() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  // What the queue costs: copies in the JS heap, serialized messages outside it (without the
  // fast paths every message is serialized).
  let heap = |runtime: &mut Runtime| {
    runtime.collect_garbage();
    runtime.isolate().get_heap_statistics().used_heap_size() + runtime.queued_bytes()
  };
  runtime
    .execute_script(
      "flood.js",
      "globalThis.channel = new MessageChannel();
       globalThis.flood = (n) => { for (let i = 0; i < n; i++) channel.port1.postMessage({ i, s: 'payload' }); };",
    )
    .unwrap();
  let before = heap(&mut runtime);
  runtime.execute_script("a.js", "flood(50000)").unwrap();
  let half = heap(&mut runtime);
  runtime.execute_script("b.js", "flood(50000)").unwrap();
  let full = heap(&mut runtime);
  assert_eq!(runtime.queued_messages(), 100_000);
  // The second 50k cost what the first did (within a quarter): linear, no hidden blow-up.
  let (first, second) = ((half - before) as f64, (full - half) as f64);
  assert!(
    second > first * 0.75 && second < first * 1.25,
    "first 50k: {first} bytes, second 50k: {second} bytes"
  );
  runtime
    .execute_script("close.js", "channel.port2.close();")
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(runtime.queued_messages(), 0);
  let after = heap(&mut runtime);
  assert!(
    after < before + (full - before) / 10,
    "heap {before} before, {full} flooded, {after} after close"
  );
  assert_eq!(captured.borrow().1, "");
}

#[test]
fn a_chain_of_ports_in_transit_grown_at_its_bottom_stays_cheap_and_closes() {
  // Each port is posted into the queue of the deepest end in transit, so the ring check after
  // each post climbs the chain: it stops after `MAX_RING` links (it climbed all of it before).
  // Closing the top closes every end, and the deepest peer hears it.
  assert_prints(
    r#"
    const top = new MessageChannel(), first = new MessageChannel();
    top.port2.postMessage(0, [first.port1]);
    let peer = first.port2;
    for (let i = 0; i < 30000; i++) {
      const next = new MessageChannel();
      peer.postMessage(i, [next.port1]);
      peer = next.port2;
    }
    peer.onclose = () => console.log("the deepest peer heard close");
    top.port1.close();
    "#,
    &["the deepest peer heard close"],
  );
}

#[test]
fn a_ring_of_a_few_hundred_ports_in_transit_is_found() {
  // A chain grown at its bottom, then its top posted into the bottom: a ring of 502 ends.
  let outcome = crate::setup::run(
    r#"
    const top = new MessageChannel(), first = new MessageChannel();
    top.port2.postMessage(0, [first.port1]);
    let peer = first.port2;
    for (let i = 0; i < 500; i++) {
      const next = new MessageChannel();
      peer.postMessage(i, [next.port1]);
      peer = next.port2;
    }
    top.port2.onclose = () => console.log("the top's peer heard close");
    peer.onclose = () => console.log("the deepest peer heard close");
    peer.postMessage("the top", [top.port1]);
    "#,
  );
  outcome.expect_ok();
  let mut lines = outcome.lines();
  lines.sort();
  assert_eq!(
    lines,
    ["the deepest peer heard close", "the top's peer heard close"]
  );
}
