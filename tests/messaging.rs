//! MessageChannel / MessagePort semantics (HTML spec, with the Workers points).

use crate::setup::{assert_prints, run};
use v8_message_channel::Error;

#[test]
fn channel_ports_are_the_same_objects_each_time() {
  assert_prints(
    r#"
    const ch = new MessageChannel();
    console.log(ch.port1 === ch.port1, ch.port2 === ch.port2, ch.port1 !== ch.port2);
    console.log(ch.port1 instanceof MessagePort, ch.port1 instanceof EventTarget);
    console.log(Object.prototype.toString.call(ch.port1), Object.prototype.toString.call(ch));
    "#,
    &[
      "true true true",
      "true true",
      "[object MessagePort] [object MessageChannel]",
    ],
  );
}

#[test]
fn message_port_constructor_throws_type_error() {
  assert_prints(
    r#"
    try { new MessagePort(); } catch (e) { console.log(e.constructor.name, e.message); }
    try { MessagePort(); } catch (e) { console.log(e.constructor.name); }
    "#,
    &["TypeError Illegal constructor", "TypeError"],
  );
}

#[test]
fn messages_arrive_in_order_with_cloned_data() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (e) => {
      got.push(e.data.i);
      if (got.length === 5) console.log(got.join(","), e.data.nested.deep[0]);
    };
    for (let i = 0; i < 5; i++) port1.postMessage({ i, nested: { deep: ["x"] } });
    "#,
    &["0,1,2,3,4 x"],
  );
}

#[test]
fn add_event_listener_alone_does_not_start_the_queue() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.addEventListener("message", (e) => console.log("got", e.data));
    port1.postMessage("queued");
    setTimeout(() => { console.log("still waiting"); port2.start(); }, 20);
    "#,
    &["still waiting", "got queued"],
  );
}

#[test]
fn setting_onmessage_starts_the_queue() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(1);
    port1.postMessage(2);
    port2.onmessage = (e) => console.log("got", e.data);
    "#,
    &["got 1", "got 2"],
  );
}

#[test]
fn message_event_has_the_receiving_port_as_target_and_this() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = function (e) {
      console.log(e instanceof MessageEvent, e.type, e.isTrusted);
      console.log(e.target === port2, e.currentTarget === port2, this === port2);
      console.log(Object.isFrozen(e.ports), e.ports.length, e.origin === "", e.lastEventId === "", e.source);
      console.log(e.bubbles, e.cancelable, e.eventPhase, e.timeStamp > 0, e.timeStamp <= new Event("x").timeStamp);
      try { e.ports.push(1); } catch (err) { console.log(err.constructor.name); }
    };
    port1.postMessage("x");
    "#,
    &[
      "true message true",
      "true true true",
      "true 0 true true null",
      "false false 2 true true",
      "TypeError",
    ],
  );
}

#[test]
fn message_is_cloned_when_posted() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const order = [];
    const msg = { get when() { order.push("getter"); return "at post"; }, list: [1] };
    port2.onmessage = (e) => console.log(order.join(","), e.data.when, e.data.list.length, e.data !== msg);
    port1.postMessage(msg);
    order.push("after post");
    msg.list.push(2);
    "#,
    &["getter,after post at post 1 true"],
  );
}

#[test]
fn unclonable_values_throw_data_clone_error_and_the_port_keeps_working() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("delivered", e.data);
    for (const bad of [() => 1, Symbol("s"), { f() {} }, port1, globalThis, new Event("x")]) {
      try {
        port1.postMessage(bad);
        console.log("no throw");
      } catch (e) {
        console.log(e instanceof DOMException, e.name, e.code);
      }
    }
    port1.postMessage("still works");
    "#,
    &[
      "true DataCloneError 25",
      "true DataCloneError 25",
      "true DataCloneError 25",
      "true DataCloneError 25",
      "true DataCloneError 25",
      "true DataCloneError 25",
      "delivered still works",
    ],
  );
}

#[test]
fn getter_exceptions_propagate_unchanged_and_nothing_is_sent() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("delivered", e.data);
    const boom = new RangeError("from getter");
    try { port1.postMessage({ get x() { throw boom; } }); } catch (e) { console.log(e === boom); }
    port1.postMessage("after");
    "#,
    &["true", "delivered after"],
  );
}

#[test]
fn transfer_arguments_are_accepted_in_both_forms() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log(e.data instanceof ArrayBuffer ? "buffer " + e.data.byteLength : e.data);
    port1.postMessage("a", []);
    port1.postMessage("b", {});
    port1.postMessage("c", { transfer: [] });
    const buffer = new ArrayBuffer(8);
    port1.postMessage(buffer, [buffer]);
    console.log("detached", buffer.byteLength);
    try { port1.postMessage("d", [port1]); } catch (e) { console.log(e.name); }
    try { port1.postMessage("e", { transfer: [{}] }); } catch (e) { console.log(e.name); }
    try { port1.postMessage("f", 5); } catch (e) { console.log(e.name); }
    "#,
    &[
      "detached 0",
      "DataCloneError",
      "DataCloneError",
      "TypeError",
      "a",
      "b",
      "c",
      "buffer 8",
    ],
  );
}

#[test]
fn close_fires_close_on_both_ports_once_and_drops_later_messages() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("port2 got", e.data);
    port1.onmessage = (e) => console.log("port1 got", e.data);
    port1.onclose = () => console.log("port1 close");
    port2.addEventListener("close", (e) => console.log("port2 close", e.type, e.isTrusted));
    port1.postMessage("before close");
    port1.close();
    port1.close();
    port1.postMessage("after close");
    port2.postMessage("to closed");
    setTimeout(() => { port2.close(); setTimeout(() => console.log("end"), 5); }, 5);
    "#,
    &[
      "port2 got before close",
      "port1 close",
      "port2 close close true",
      "end",
    ],
  );
}

#[test]
fn closing_the_receiver_drops_its_queued_messages() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("never", e.data);
    port1.postMessage(1);
    port2.close();
    setTimeout(() => console.log("done"), 5);
    "#,
    &["done"],
  );
}

#[test]
fn a_throwing_listener_is_reported_fires_messageerror_and_delivery_goes_on() {
  let outcome = run(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => { if (e.data === 1) throw new Error("boom"); console.log("got", e.data); };
    port2.onmessageerror = (e) => console.log("messageerror", e.data.message, e.isTrusted);
    port1.postMessage(1);
    port1.postMessage(2);
    "#,
  );
  assert_eq!(outcome.lines(), ["messageerror boom true", "got 2"]);
  assert!(
    outcome.stderr.starts_with("Uncaught Error: boom\n    at "),
    "{}",
    outcome.stderr
  );
  match outcome.result {
    Err(Error::Uncaught { first, count: 1 }) => assert!(first.message.contains("boom")),
    other => panic!("expected one uncaught error, got {other:?}"),
  }
}

#[test]
fn each_message_is_its_own_task_with_a_microtask_checkpoint() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => {
      console.log("message", e.data);
      queueMicrotask(() => console.log("microtask", e.data));
      Promise.resolve().then(() => console.log("promise", e.data));
    };
    port1.postMessage(1);
    port1.postMessage(2);
    console.log("sync");
    "#,
    &[
      "sync",
      "message 1",
      "microtask 1",
      "promise 1",
      "message 2",
      "microtask 2",
      "promise 2",
    ],
  );
}

#[test]
fn event_handler_attributes_default_to_null() {
  assert_prints(
    r#"
    const { port1 } = new MessageChannel();
    console.log(port1.onmessage, port1.onmessageerror, port1.onclose);
    const f = () => {};
    port1.onclose = f;
    console.log(port1.onclose === f);
    port1.onclose = "not a function";
    console.log(port1.onclose);
    "#,
    &["null null null", "true", "null"],
  );
}

#[test]
fn methods_check_their_receiver_and_arguments() {
  assert_prints(
    r#"
    const { port1 } = new MessageChannel();
    const proto = MessagePort.prototype;
    for (const name of ["postMessage", "start", "close"]) {
      try { proto[name].call({}); } catch (e) { console.log(name, e.constructor.name); }
    }
    try { port1.postMessage(); } catch (e) { console.log(e.constructor.name, e.message); }
    console.log(proto.postMessage.length, proto.postMessage.name, proto.start.length);
    try { Object.getOwnPropertyDescriptor(MessageChannel.prototype, "port1").get.call({}); }
    catch (e) { console.log("port1", e.constructor.name); }
    "#,
    &[
      "postMessage TypeError",
      "start TypeError",
      "close TypeError",
      "TypeError Failed to execute 'postMessage' on 'MessagePort': 1 argument required, but only 0 present.",
      "1 postMessage 0",
      "port1 TypeError",
    ],
  );
}

#[test]
fn a_started_port_outlives_its_last_reference_while_its_peer_can_post() {
  assert_prints(
    r#"
    function listen() {
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = (e) => console.log("got", e.data);
      return port1;
    }
    const sender = listen();
    setTimeout(() => sender.postMessage("later"), 10);
    "#,
    &["got later"],
  );
}

#[test]
fn primitive_messages_arrive_exactly() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const sent = [undefined, null, true, false, 0, -0, NaN, -Infinity, 1.5e300, 2 ** 53 + 2,
      "", "latin1 é", "two-byte ✓ 😀", "x".repeat(5000), "☃".repeat(3000), 12345678901234567890n];
    const got = [];
    port2.onmessage = (e) => {
      got.push(e.data);
      if (got.length === sent.length) {
        console.log(sent.every((v, i) => Object.is(v, got[i])), got[11], got[12], got[13].length, got[14].length);
      }
    };
    for (const value of sent) port1.postMessage(value);
    console.log(Object.is(structuredClone(-0), -0), structuredClone("s"), structuredClone(7n));
    try { port1.postMessage(Symbol("nope")); } catch (e) { console.log(e.name); }
    "#,
    &[
      "true s 7n",
      "DataCloneError",
      "true latin1 é two-byte ✓ 😀 5000 3000",
    ],
  );
}

/// A run of queued messages is delivered from one call into JS (src/event_loop.rs
/// `next_message`); it still behaves as one task per message.
#[test]
fn runs_of_messages_keep_task_order_checkpoints_and_close() {
  assert_prints(
    r#"
    const a = new MessageChannel(), b = new MessageChannel();
    const log = [];
    a.port2.onmessage = (e) => {
      log.push("a" + e.data);
      Promise.resolve().then(() => log.push("micro" + e.data));
      if (e.data === 3) a.port2.close();
    };
    b.port2.onmessage = (e) => log.push("b" + e.data.n);
    for (let i = 1; i <= 5; i++) a.port1.postMessage(i);
    b.port1.postMessage({ n: 1 });
    a.port1.postMessage(6);
    b.port1.postMessage({ n: 2 });
    setTimeout(() => { console.log(log.join(" ")); b.port1.close(); }, 10);
    "#,
    &["a1 micro1 a2 micro2 a3 micro3 b1 b2"],
  );
}
