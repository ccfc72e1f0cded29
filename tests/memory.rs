//! Ports and their queues are freed when JS drops them; long runs do not accumulate state.

use crate::setup::{block_on, runtime_with};
use v8_message_channel::{Compat, Runtime};

fn used_heap(runtime: &mut Runtime) -> usize {
  runtime.isolate().get_heap_statistics().used_heap_size()
}

#[test]
fn dropped_channels_are_freed_after_garbage_collection() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "churn.js",
      r#"
      for (let i = 0; i < 20000; i++) {
        const { port1, port2 } = new MessageChannel();
        port2.start();
        port1.postMessage({ i });   // queued, then dropped with the ports
      }
      globalThis.kept = new MessageChannel();
      "#,
    )
    .unwrap();
  assert!(runtime.live_ports() >= 40000 || runtime.queued_messages() > 0);
  block_on(runtime.run_event_loop()).unwrap();
  runtime.collect_garbage();
  block_on(runtime.run_event_loop()).unwrap();
  let live = runtime.live_ports();
  assert!(live <= 100, "{live} port records survived");
  assert_eq!(runtime.queued_messages(), 0);
  assert_eq!(captured.borrow().1, "");
}

#[test]
fn a_started_port_survives_gc_while_its_peer_is_reachable() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "keepalive.js",
      r#"
      function listen() {
        const { port1, port2 } = new MessageChannel();
        port2.onmessage = (e) => console.log("got", e.data);
        return port1;
      }
      globalThis.sender = listen();
      "#,
    )
    .unwrap();
  runtime.collect_garbage();
  runtime
    .execute_script("post.js", "sender.postMessage('after gc');")
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "got after gc\n");
}

#[test]
fn a_million_messages_leave_no_queue_behind() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "million.js",
      r#"
      const { port1, port2 } = new MessageChannel();
      let received = 0;
      port2.onmessage = () => { received++; };
      let sent = 0;
      function burst() {
        for (let i = 0; i < 10000 && sent < 1000000; i++, sent++) port1.postMessage(sent);
        if (sent < 1000000) setTimeout(burst, 0);
        else setTimeout(() => console.log("received", received), 0);
      }
      burst();
      "#,
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "received 1000000\n");
  assert_eq!(runtime.queued_messages(), 0);
  assert_eq!(runtime.live_ports(), 2);
}

/// Object messages between ports of one runtime are copies kept in the isolate: after a million
/// of them, every copy is let go and the heap is back where it was after the first bursts.
#[test]
fn a_million_object_messages_leave_no_copy_behind() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  let script = |count: u32| {
    format!(
      r#"
      {{
        const {{ port1, port2 }} = globalThis.channel ??= new MessageChannel();
        let received = 0, sent = 0;
        port2.onmessage = (e) => {{ if (e.data.s === "x" && e.data.a[2] === e.data.i % 7) received++; }};
        function burst() {{
          for (let i = 0; i < 20000 && sent < {count}; i++, sent++) {{
            port1.postMessage({{ i: sent, s: "x", a: [sent % 5, sent % 6, sent % 7], big: "y".repeat(100) + sent }});
          }}
          if (sent < {count}) setTimeout(burst, 0);
          else setTimeout(() => console.log("received", received), 0);
        }}
        burst();
      }}
      "#
    )
  };
  let mut heap_after = Vec::new();
  for count in [100_000, 1_000_000] {
    runtime.execute_script("burst.js", &script(count)).unwrap();
    block_on(runtime.run_event_loop()).unwrap();
    runtime.collect_garbage();
    runtime.collect_garbage();
    heap_after.push(used_heap(&mut runtime));
  }
  assert_eq!(captured.borrow().0, "received 100000\nreceived 1000000\n");
  assert_eq!(runtime.queued_messages(), 0);
  let (first, last) = (heap_after[0], heap_after[1]);
  // 1M undelivered messages of this size would hold well over 100 MB.
  assert!(
    last < first + (2 << 20),
    "heap after 100k messages: {first} bytes, after 1M more: {last} bytes"
  );
}

/// A receiver that JS dropped takes its messages with it (the copies kept in the isolate, or the
/// serialized ones), even while the sender lives on and never posts again.
#[test]
fn a_collected_receiver_frees_the_messages_posted_to_it() {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "setup.js",
      "globalThis.sender = new MessageChannel().port1;",
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  runtime.collect_garbage();
  let before = used_heap(&mut runtime);
  runtime
    .execute_script(
      "post.js",
      r#"
      {
        // The receiver is never started nor kept: it is garbage with 50k messages queued.
        const { port1 } = new MessageChannel();
        for (let i = 0; i < 50000; i++) port1.postMessage({ i, text: "x".repeat(200) + i });
        globalThis.sender = port1;
      }
      "#,
    )
    .unwrap();
  let loaded = used_heap(&mut runtime);
  assert_eq!(runtime.queued_messages(), 50000);
  for _ in 0..3 {
    runtime.collect_garbage();
    block_on(runtime.run_event_loop()).unwrap();
  }
  runtime.collect_garbage();
  let after = used_heap(&mut runtime);
  assert_eq!(runtime.queued_messages(), 0);
  // Same-isolate copies live on V8's heap (serialized messages are Rust's memory).
  if cfg!(feature = "fast-paths") {
    assert!(
      loaded > before + (10 << 20),
      "the messages took {} bytes",
      loaded - before
    );
  }
  assert!(
    after < before + (2 << 20),
    "heap before: {before}, with the messages: {loaded}, after the receiver was collected: {after}"
  );
  assert_eq!(captured.borrow().1, "");
}

#[test]
fn posted_buffers_count_as_v8_external_memory_and_are_freed() {
  // The one-copy path hands V8 memory from the isolate's own allocator: V8 must see it (so
  // its GC keeps up with large messages) and free it once the receiver drops it.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  let external = |runtime: &mut Runtime| runtime.isolate().get_heap_statistics().external_memory();
  runtime.collect_garbage();
  let before = external(&mut runtime);
  runtime
    .execute_script(
      "keep.js",
      r#"
      globalThis.kept = [];
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = (e) => { kept.push(e.data); if (kept.length === 32) port1.close(); };
      const payload = new Uint8Array(1 << 20);
      for (let i = 0; i < 32; i++) port1.postMessage(payload);
      "#,
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  let holding = external(&mut runtime);
  assert!(
    holding >= before + (32 << 20),
    "32 MiB of received buffers not accounted: {before} -> {holding}"
  );
  runtime.execute_script("drop.js", "kept = null;").unwrap();
  runtime.collect_garbage();
  let after = external(&mut runtime);
  assert!(
    after < before + (4 << 20),
    "received buffers not freed: {before} -> {holding} -> {after}"
  );
  assert_eq!(captured.borrow().1, "");
}

#[test]
fn reused_buffer_memory_reads_as_zeros() {
  // Large blocks V8 frees are pooled and reused: a new ArrayBuffer must still read as zeros,
  // and copies of posted buffers must hold exactly the posted bytes.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "dirty.js",
      r#"
      for (let i = 0; i < 8; i++) new Uint8Array(1 << 20).fill(0xab);
      for (let i = 0; i < 8; i++) structuredClone(new Uint8Array(1 << 20).fill(0xcd));
      "#,
    )
    .unwrap();
  runtime.collect_garbage();
  runtime
    .execute_script(
      "check.js",
      r#"
      let nonzero = 0;
      for (let i = 0; i < 8; i++) {
        const fresh = new Uint8Array(1 << 20);
        for (let j = 0; j < fresh.length; j += 61) if (fresh[j] !== 0) nonzero++;
        if (fresh[fresh.length - 1] !== 0) nonzero++;
      }
      const { port1, port2 } = new MessageChannel();
      const payload = new Uint8Array(1 << 20).map((_, i) => i % 251);
      port2.onmessage = ({ data }) => {
        let wrong = 0;
        for (let j = 0; j < data.length; j++) if (data[j] !== j % 251) wrong++;
        console.log("nonzero", nonzero, "wrong", wrong);
        port1.close();
      };
      port1.postMessage(payload);
      "#,
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "nonzero 0 wrong 0\n");
  assert_eq!(captured.borrow().1, "");
}

#[test]
fn recycled_array_buffer_memory_reads_as_zeroes() {
  // Large blocks V8 frees are reused for new buffers (src/array_buffers.rs): fully written,
  // written on one page, or never touched, a reused block must read back as zeroes.
  let outcome = crate::setup::run(
    r#"
    let bad = 0;
    for (let round = 0; round < 300; round++) {
      const a = new Uint8Array((1 << 20) + 100);
      for (let i = 0; i < a.length; i += 509) if (a[i] !== 0) bad++;
      if (a[a.length - 1] !== 0) bad++;
      if (round % 3 === 0) a.fill(255);
      else if (round % 3 === 1) a[12345] = 1;
      const grown = new Uint8Array(new ArrayBuffer(300000).transfer(600000));
      if (grown[599999] !== 0) bad++;
      grown.fill(7);
    }
    console.log("bad", bad);
    "#,
  );
  outcome.expect_ok();
  assert_eq!(outcome.lines(), ["bad 0"]);
}
