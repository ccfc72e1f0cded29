//! Transferring MessagePorts (and buffers) with postMessage and structuredClone: what arrives,
//! what moves with a port, and every error HTML gives, with nothing sent or detached when one
//! is thrown.

use crate::setup::{assert_prints, run_with};
use v8_message_channel::{Compat, NEWEST_COMPATIBILITY_DATE};

#[test]
fn a_transferred_port_arrives_as_a_new_port_entangled_with_the_old_peer() {
  assert_prints(
    r#"
    const carrier = new MessageChannel();
    const { port1: near, port2: far } = new MessageChannel();
    carrier.port2.onmessage = (e) => {
      const [moved] = e.ports;
      console.log(moved !== far, moved instanceof MessagePort, e.data.port === moved);
      console.log(Object.isFrozen(e.ports), e.ports.length, e.ports === e.ports);
      try { e.ports.push(1); } catch (err) { console.log(err.constructor.name); }
      moved.onmessage = (m) => {
        console.log("moved got", m.data);
        moved.postMessage("reply from the moved port");
      };
    };
    near.onmessage = (m) => {
      console.log("near got", m.data);
      near.close();
      carrier.port1.close();
    };
    carrier.port1.postMessage({ port: far }, [far]);
    near.postMessage("to the moved port");
    // The old object is detached: posting on it does nothing, and it cannot go again.
    far.postMessage("lost");
    try { carrier.port1.postMessage(null, [far]); } catch (err) { console.log(err.name); }
    "#,
    &[
      "DataCloneError",
      "true true true",
      "true 1 true",
      "TypeError",
      "moved got to the moved port",
      "near got reply from the moved port",
    ],
  );
}

#[test]
fn queued_messages_move_with_the_port_in_order() {
  assert_prints(
    r#"
    const log = [];
    const { port1, port2 } = new MessageChannel();
    // Queued before the transfer, on a port that is not started...
    port1.postMessage(1);
    port1.postMessage({ two: 2 });
    // ... and on a started one.
    const other = new MessageChannel();
    other.port2.onmessage = () => {};
    other.port1.postMessage("a");
    const hop1 = new MessageChannel(), hop2 = new MessageChannel();
    hop1.port2.onmessage = (e) => {
      port1.postMessage(3);
      // Transferred again before it was started.
      hop2.port1.postMessage("again", e.ports);
    };
    hop2.port2.onmessage = (e) => {
      port1.postMessage(4);
      const [moved] = e.ports;
      moved.onmessage = (m) => {
        log.push(JSON.stringify(m.data));
        if (log.length === 4) {
          console.log(log.join(" "));
          [port1, other.port1, hop1.port1, hop2.port1].forEach((p) => p.close());
        }
      };
    };
    hop1.port1.postMessage("first", [port2]);
    "#,
    &[r#"1 {"two":2} 3 4"#],
  );
}

#[test]
fn the_last_message_before_a_close_can_carry_a_port() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const inner = new MessageChannel();
    port2.onmessage = (e) => {
      console.log("got", e.data, e.ports.length);
      e.ports[0].onmessage = (m) => { console.log("inner", m.data); e.ports[0].close(); };
    };
    port2.onclose = () => console.log("port2 closed");
    port1.postMessage("carrier", [inner.port2]);
    port1.close();
    inner.port1.postMessage("still entangled");
    "#,
    &["got carrier 1", "port2 closed", "inner still entangled"],
  );
}

#[test]
fn structured_clone_transfers_ports_too() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const clone = structuredClone({ p: port2 }, { transfer: [port2] });
    console.log(clone.p !== port2, clone.p instanceof MessagePort);
    clone.p.onmessage = (e) => { console.log("clone got", e.data); port1.close(); };
    port1.postMessage("hi");
    try { structuredClone(port2, { transfer: [port2] }); } catch (e) { console.log(e.name); }
    try { structuredClone({ p: port1 }); } catch (e) { console.log(e.name, e.message); }
    "#,
    &[
      "true true",
      "DataCloneError",
      "DataCloneError A MessagePort could not be cloned because it was not transferred.",
      "clone got hi",
    ],
  );
}

#[test]
fn transfer_errors_send_and_detach_nothing() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (e) => got.push(e.data);
    const cases = {
      "the source port": () => { const c = new MessageChannel(); return [port1, [c.port1, port1]]; },
      "a duplicate port": () => { const c = new MessageChannel(); return [port1, [c.port1, c.port1]]; },
      "a duplicate buffer": () => { const b = new ArrayBuffer(4); return [port1, [b, b]]; },
      "a detached buffer": () => { const b = new ArrayBuffer(4); structuredClone(b, { transfer: [b] }); return [port1, [b]]; },
      "a closed port": () => { const c = new MessageChannel(); c.port2.close(); return [port1, [c.port2]]; },
      "a non-transferable object": () => [port1, [{}]],
      "a SharedArrayBuffer": () => [port1, [new SharedArrayBuffer(4)]],
      "a port in the message but not in the list": () => { const c = new MessageChannel(); return [{ p: c.port1 }, []]; },
    };
    (async () => {
      for (const [name, make] of Object.entries(cases)) {
        const buffer = new ArrayBuffer(8);
        const bystander = new MessageChannel();
        const [message, list] = make();
        try {
          port1.postMessage(message, [buffer, bystander.port1, ...list]);
          console.log(name, "no error");
        } catch (e) {
          // Nothing was detached: the buffer keeps its bytes and the port still works.
          const alive = new Promise((resolve) => { bystander.port2.onmessage = (m) => resolve(m.data); });
          bystander.port1.postMessage("alive");
          console.log(name, e.name, buffer.byteLength, await alive);
        }
        bystander.port1.close();
      }
      for (const bad of [5, "port", [null], [1]]) {
        try { port1.postMessage("x", bad); } catch (e) { console.log(e.name); }
      }
      setTimeout(() => { console.log("delivered", got.length); port1.close(); }, 5);
    })();
    "#,
    &[
      "the source port DataCloneError 8 alive",
      "a duplicate port DataCloneError 8 alive",
      "a duplicate buffer DataCloneError 8 alive",
      "a detached buffer DataCloneError 8 alive",
      "a closed port DataCloneError 8 alive",
      "a non-transferable object DataCloneError 8 alive",
      "a SharedArrayBuffer DataCloneError 8 alive",
      "a port in the message but not in the list DataCloneError 8 alive",
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "delivered 0",
    ],
  );
}

#[test]
fn posting_the_peer_to_itself_loses_the_channel() {
  // HTML's "doomed" message: no error, the message is dropped with the transferred peer, and
  // the channel is gone (both ends get close).
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port1.onclose = () => console.log("port1 closed");
    port2.onmessage = () => console.log("never delivered");
    port1.postMessage("doomed", [port2]);
    console.log("no error");
    port1.postMessage("after");
    "#,
    &["no error", "port1 closed"],
  );
}

#[test]
fn a_getter_that_moves_a_listed_port_fails_the_post() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const listed = new MessageChannel();
    const elsewhere = new MessageChannel();
    const message = { get sneaky() { elsewhere.port1.postMessage(null, [listed.port1]); return 1; } };
    try { port1.postMessage(message, [listed.port1]); } catch (e) { console.log(e.name); }
    port2.onmessage = () => console.log("never delivered");
    setTimeout(() => port1.close(), 5);
    "#,
    &["DataCloneError"],
  );
}

#[test]
fn older_dates_keep_workerd_transfer_rules() {
  let script = r#"
    const { port1, port2 } = new MessageChannel();
    const c = new MessageChannel();
    try { port1.postMessage("x", [c.port1]); console.log("transferred"); } catch (e) { console.log(e.constructor.name, e.message); }
    try { port1.postMessage("x", [new ArrayBuffer(1)]); console.log("buffer transferred"); } catch (e) { console.log(e.constructor.name, e.message); }
    port1.postMessage("x", []);
    try { structuredClone(c.port2, { transfer: [c.port2] }); console.log("cloned"); } catch (e) { console.log(e.name); }
    port1.close();
  "#;
  let old = Compat::new("2026-12-01", &[]).unwrap();
  let outcome = run_with(old, script);
  outcome.expect_ok();
  assert_eq!(
    outcome.lines(),
    [
      "Error Transfer list is not supported",
      "Error Transfer list is not supported",
      "DataCloneError",
    ]
  );
  let off = Compat::new(NEWEST_COMPATIBILITY_DATE, &["no_message_port_transfer"]).unwrap();
  assert_eq!(run_with(off, script).lines(), outcome.lines());
  let on = Compat::new("2026-12-01", &["message_port_transfer"]).unwrap();
  let outcome = run_with(on, script);
  outcome.expect_ok();
  assert_eq!(
    outcome.lines(),
    ["transferred", "buffer transferred", "cloned"]
  );
}

#[test]
fn a_listener_whose_peer_waits_in_an_unread_queue_lets_the_loop_end() {
  // b.port1 sits in a queue nobody reads (a.port2 never starts): b.port2 cannot hear from it,
  // so it does not keep the loop alive.
  assert_prints(
    r#"
    const a = new MessageChannel();
    const b = new MessageChannel();
    b.port2.onmessage = () => console.log("unexpected");
    a.port1.postMessage(null, [b.port1]);
    console.log("posted");
    "#,
    &["posted"],
  );
}

#[test]
fn a_port_moved_after_its_peer_closed_hears_close() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onclose = () => console.log("old object heard close");
    port1.close();
    const moved = structuredClone(port2, { transfer: [port2] });
    moved.onclose = () => console.log("moved port heard close");
    globalThis.keep = moved;
    "#,
    &["moved port heard close"],
  );
}
