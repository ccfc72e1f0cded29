//! Close on collection (HTML's disentangle on garbage collection, whatwg/html#9933): a port JS
//! can no longer reach is collected unless a listener still needs it, and its peer gets
//! `close`.

use crate::setup::{block_on, runtime_with};
use v8_message_channel::{Compat, Runtime};

/// Runs `source`, then collects garbage and runs the loop until it is done, twice (a close
/// event may make more garbage). Returns what the script printed.
fn run_collecting(source: &str) -> (Runtime, String) {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime.execute_script("gc.js", source).unwrap();
  for _ in 0..2 {
    block_on(runtime.run_event_loop()).unwrap();
    runtime.collect_garbage();
  }
  block_on(runtime.run_event_loop()).unwrap();
  let (stdout, stderr) = captured.borrow().clone();
  assert_eq!(stderr, "");
  (runtime, stdout)
}

#[test]
fn a_collected_port_closes_its_peer() {
  let (_, stdout) = run_collecting(
    r#"
    // An unstarted port and a started one without listeners: both can be collected.
    function dropOne(started) {
      const { port1, port2 } = new MessageChannel();
      if (started) port2.start();
      port1.addEventListener("close", () => console.log("peer of a", started ? "started" : "pending", "port collected"));
      globalThis[started ? "a" : "b"] = port1;
    }
    dropOne(false);
    dropOne(true);
    "#,
  );
  let mut lines: Vec<&str> = stdout.lines().collect();
  lines.sort();
  assert_eq!(
    lines,
    [
      "peer of a pending port collected",
      "peer of a started port collected"
    ]
  );
}

#[test]
fn a_listening_port_is_not_collected_while_its_peer_can_post() {
  let (mut runtime, stdout) = run_collecting(
    r#"
    function listen() {
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = (e) => console.log("got", e.data);
      port2.onclose = () => console.log("port2 closed");
      return port1;
    }
    globalThis.sender = listen();
    "#,
  );
  assert_eq!(stdout, "");
  runtime
    .execute_script("post.js", "sender.postMessage('after two collections');")
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(runtime.live_ports(), 2);
}

#[test]
fn an_unreachable_pair_is_freed_whole() {
  // port2 listens and port1 could post to it, but nothing can reach port1: once what was
  // posted is delivered, both go.
  let (mut runtime, stdout) = run_collecting(
    r#"
    let delivered = 0;
    for (let i = 0; i < 100; i++) {
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = () => { if (++delivered === 100) console.log("all delivered"); };
      port1.postMessage(i);
    }
    "#,
  );
  assert_eq!(stdout, "all delivered\n");
  assert_eq!(runtime.live_ports(), 0);
  assert_eq!(runtime.queued_messages(), 0);
}

#[test]
fn a_close_listener_hears_of_its_collected_peer_before_the_loop_ends() {
  // Nothing else is left to do once the script ran: the loop collects garbage once before it
  // ends, because a port is waiting for `close`.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "close-listener.js",
      r#"
      function make() {
        const { port1, port2 } = new MessageChannel();
        return [port1, new WeakRef(port2)];
      }
      const [port1, weak] = make();
      port1.onclose = () => console.log("closed, peer collected:", weak.deref() === undefined);
      "#,
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "closed, peer collected: true\n");
  // With nothing to collect, the loop ends at once.
  runtime
    .execute_script(
      "still.js",
      "globalThis.kept = new MessageChannel(); kept.port1.onclose = () => {};",
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
}

#[test]
fn messages_queued_to_an_unreachable_listener_survive_a_collection() {
  // Nothing reaches either port once the function returns, but the listener has a message to
  // hear: the port is kept until its queue is empty.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "queued.js",
      r#"
      (function () {
        const { port1, port2 } = new MessageChannel();
        port2.onmessage = (e) => console.log("got", e.data);
        port1.postMessage("hello");
        port1.postMessage("again");
      })();
      "#,
    )
    .unwrap();
  runtime.collect_garbage();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "got hello\ngot again\n");
  runtime.collect_garbage();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(runtime.live_ports(), 0);
}

#[test]
fn closed_ports_are_freed_whether_one_or_both_closed() {
  let (mut runtime, stdout) = run_collecting(
    r#"
    function make(closeBoth, cleanupOnClose) {
      const { port1, port2 } = new MessageChannel();
      if (cleanupOnClose) port2.onclose = () => port2.close();
      port1.close();
      if (closeBoth) port2.close();
    }
    make(true, false);
    make(false, false);
    make(false, true);
    "#,
  );
  assert_eq!(stdout, "");
  assert_eq!(runtime.live_ports(), 0);
}

#[test]
fn a_port_that_listened_then_left_is_not_kept_by_its_peer() {
  // The old objects of ports that listened and were then closed or transferred must not stay
  // reachable through their peers, which live on.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "left.js",
      r#"
      const weak = [];
      function setup(leave) {
        const { port1, port2 } = new MessageChannel();
        port2.onmessage = () => {};
        weak.push(new WeakRef(port2));
        leave(port2);
        return port1;
      }
      globalThis.kept = [
        setup((port) => port.close()),
        setup((port) => {
          const carrier = new MessageChannel();
          carrier.port1.postMessage(null, [port]);
          carrier.port2.onmessage = (e) => { e.ports[0].close(); carrier.port2.close(); };
        }),
      ];
      globalThis.weak = weak;
      "#,
    )
    .unwrap();
  for _ in 0..2 {
    block_on(runtime.run_event_loop()).unwrap();
    runtime.collect_garbage();
  }
  runtime
    .execute_script(
      "check.js",
      "console.log(weak.map((w) => w.deref() === undefined).join(' '));",
    )
    .unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "true true\n");
}

#[test]
fn an_unreachable_pair_with_a_message_and_a_close_listener_goes_together() {
  // Each port waits for the other (one for messages, one for `close`): nothing else reaches
  // them, so both are collected, and nobody is left to hear a close.
  let (mut runtime, stdout) = run_collecting(
    r#"
    (function () {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {};
      port2.onclose = () => console.log("port2 heard close");
    })();
    "#,
  );
  assert_eq!(stdout, "");
  assert_eq!(runtime.live_ports(), 0);
}

#[test]
fn ports_in_transit_inside_each_other_close_their_peers() {
  // one.port1 waits in two.port1's queue, then two.port1 (with it) in one.port1's queue: no
  // holder can ever take either out, so both are gone as if collected, and their peers hear it.
  // A third, in a queue of a port someone holds, still arrives.
  let (_, stdout) = run_collecting(
    r#"
    const one = new MessageChannel(), two = new MessageChannel(), three = new MessageChannel();
    one.port2.onclose = () => console.log("one.port2 closed");
    two.port2.onclose = () => console.log("two.port2 closed");
    two.port2.postMessage("carries one.port1", [one.port1]);
    one.port2.postMessage("carries two.port1", [two.port1]);
    one.port2.postMessage("after the cycle closed: dropped");
    three.port2.postMessage("carries a port", [new MessageChannel().port1]);
    three.port1.onmessage = (e) => { console.log("three:", e.data, e.ports.length); three.port1.close(); };
    "#,
  );
  let mut lines: Vec<&str> = stdout.lines().collect();
  lines.sort();
  assert_eq!(
    lines,
    [
      "one.port2 closed",
      "three: carries a port 1",
      "two.port2 closed"
    ]
  );
}

#[test]
fn a_port_posted_to_itself_closes_its_peer() {
  // HTML's "doomed" message: the target port is in its own transfer list, so it can never be
  // delivered, and the channel is lost.
  let (_, stdout) = run_collecting(
    r#"
    const { port1, port2 } = new MessageChannel();
    port1.onclose = () => console.log("port1 closed");
    port1.postMessage("to itself", [port2]);
    "#,
  );
  assert_eq!(stdout, "port1 closed\n");
}
