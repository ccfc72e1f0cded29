//! EventTarget, Event, DOMException and error reporting on the global object.

use crate::setup::{assert_prints, run};
use v8_message_channel::Error;

#[test]
fn event_constructor_and_init_dictionary() {
  assert_prints(
    r#"
    const e = new Event("ping", { bubbles: true, cancelable: true });
    console.log(e.type, e.bubbles, e.cancelable, e.defaultPrevented, e.isTrusted, e.eventPhase);
    console.log(e.target, e.currentTarget, typeof e.timeStamp, e.timeStamp >= 0);
    e.preventDefault();
    console.log(e.defaultPrevented, Event.length, Event.AT_TARGET, e.NONE);
    try { new Event(); } catch (err) { console.log(err.constructor.name); }
    try { Event("x"); } catch (err) { console.log(err.constructor.name); }
    const desc = Object.getOwnPropertyDescriptor(e, "isTrusted");
    console.log(typeof desc.get, desc.get === Object.getOwnPropertyDescriptor(new Event("y"), "isTrusted").get);
    "#,
    &[
      "ping true true false false 0",
      "null null number true",
      "true 1 2 0",
      "TypeError",
      "TypeError",
      "function true",
    ],
  );
}

#[test]
fn listeners_options_once_capture_passive_and_handle_event() {
  assert_prints(
    r#"
    const t = new EventTarget();
    const log = [];
    t.addEventListener("x", () => log.push("bubble"));
    t.addEventListener("x", () => log.push("capture"), { capture: true });
    t.addEventListener("x", () => log.push("once"), { once: true });
    t.addEventListener("x", { handleEvent(e) { log.push("object:" + (this !== t)); } });
    t.addEventListener("x", (e) => { e.preventDefault(); log.push("passive:" + e.defaultPrevented); }, { passive: true });
    const ret = t.dispatchEvent(new Event("x", { cancelable: true }));
    t.dispatchEvent(new Event("x"));
    console.log(log.join(","), ret);
    "#,
    &[
      "capture,bubble,once,object:true,passive:false,capture,bubble,object:true,passive:false true",
    ],
  );
}

#[test]
fn remove_listener_signal_and_stop_immediate_propagation() {
  assert_prints(
    r#"
    const t = new EventTarget();
    const log = [];
    const f = () => log.push("f");
    t.addEventListener("x", f);
    t.addEventListener("x", f);
    t.removeEventListener("x", f);
    const controller = new AbortController();
    t.addEventListener("x", () => log.push("signal"), { signal: controller.signal });
    t.addEventListener("x", (e) => { log.push("stop"); e.stopImmediatePropagation(); });
    t.addEventListener("x", () => log.push("never"));
    t.dispatchEvent(new Event("x"));
    controller.abort();
    t.dispatchEvent(new Event("x"));
    console.log(log.join(","), controller.signal.aborted, controller.signal.reason.name);
    "#,
    &["signal,stop,stop true AbortError"],
  );
}

#[test]
fn stop_propagation_does_not_stop_listeners_on_the_same_target() {
  assert_prints(
    r#"
    const t = new EventTarget();
    const log = [];
    t.addEventListener("x", (e) => { log.push("capture"); e.stopPropagation(); }, true);
    t.addEventListener("x", () => log.push("bubble"));
    t.dispatchEvent(new Event("x"));
    const stopped = new Event("x");
    stopped.stopImmediatePropagation();
    t.dispatchEvent(stopped);
    console.log(log.join(","));
    "#,
    &["capture,bubble"],
  );
}

#[test]
fn dispatching_twice_throws_invalid_state_error() {
  assert_prints(
    r#"
    const t = new EventTarget();
    const e = new Event("x");
    t.addEventListener("x", () => {
      try { t.dispatchEvent(e); } catch (err) { console.log(err.name, err.code); }
    });
    t.dispatchEvent(e);
    try { t.dispatchEvent({}); } catch (err) { console.log(err.constructor.name); }
    try { EventTarget.prototype.addEventListener.call({}, "x", null); } catch (err) { console.log(err.constructor.name); }
    "#,
    &["InvalidStateError 11", "TypeError", "TypeError"],
  );
}

#[test]
fn dom_exception_names_codes_and_constants() {
  assert_prints(
    r#"
    const e = new DOMException("msg", "DataCloneError");
    console.log(e.name, e.message, e.code, e instanceof Error, String(e));
    console.log(DOMException.DATA_CLONE_ERR, e.DATA_CLONE_ERR, new DOMException().name, new DOMException("m", "Custom").code);
    console.log(Object.prototype.hasOwnProperty.call(e, "message"), typeof e.stack);
    const withCause = new DOMException("m", { name: "AbortError", cause: 1 });
    console.log(withCause.name, withCause.code, withCause.cause, Object.hasOwn(withCause, "cause"));
    console.log(Object.getPrototypeOf(DOMException) === Function.prototype, Object.getPrototypeOf(DOMException.prototype) === Error.prototype, Error.isError(e));
    try { DOMException(); } catch (err) { console.log(err.constructor.name); }
    try { Object.getOwnPropertyDescriptor(DOMException.prototype, "name").get.call({}); } catch (err) { console.log(err.constructor.name); }
    "#,
    &[
      "DataCloneError msg 25 true DataCloneError: msg",
      "25 25 Error 0",
      "false string",
      "AbortError 20 1 false",
      "true true true",
      "TypeError",
      "TypeError",
    ],
  );
}

#[test]
fn webidl_shape_of_globals() {
  assert_prints(
    r#"
    for (const name of ["MessageChannel", "MessagePort", "EventTarget", "Event", "MessageEvent", "DOMException", "structuredClone", "queueMicrotask", "setTimeout", "console"]) {
      const d = Object.getOwnPropertyDescriptor(globalThis, name);
      if (!d || !d.writable || d.enumerable || !d.configurable) console.log("bad descriptor", name);
    }
    console.log(self === globalThis, globalThis instanceof EventTarget);
    console.log(Object.getOwnPropertyDescriptor(MessagePort.prototype, "postMessage").enumerable);
    console.log(MessageEvent.prototype[Symbol.toStringTag], structuredClone.length, setTimeout.name);
    "#,
    &["true true", "true", "MessageEvent 1 setTimeout"],
  );
}

#[test]
fn message_event_constructor_follows_its_dictionary() {
  assert_prints(
    r#"
    const { port1 } = new MessageChannel();
    const e = new MessageEvent("message", { data: { a: 1 }, origin: "o", lastEventId: "7", source: port1, ports: [port1] });
    console.log(e.data.a, e.origin, e.lastEventId, e.source === port1, e.ports[0] === port1, Object.isFrozen(e.ports));
    console.log(new MessageEvent("m").data, new MessageEvent("m").ports.length);
    try { new MessageEvent("m", { ports: [1] }); } catch (err) { console.log(err.constructor.name); }
    try { new MessageEvent("m", { source: {} }); } catch (err) { console.log(err.constructor.name); }
    "#,
    &["1 o 7 true true true", "null 0", "TypeError", "TypeError"],
  );
}

#[test]
fn global_error_listener_can_handle_listener_exceptions() {
  assert_prints(
    r#"
    addEventListener("error", (e) => {
      console.log("error event", e instanceof ErrorEvent, e.error.message, e.message);
      e.preventDefault();
    });
    const t = new EventTarget();
    t.addEventListener("x", () => { throw new Error("oops"); });
    t.addEventListener("x", () => console.log("second listener still runs"));
    t.dispatchEvent(new Event("x"));
    "#,
    &[
      "error event true oops Uncaught Error: oops",
      "second listener still runs",
    ],
  );
}

#[test]
fn report_error_reports_like_an_uncaught_listener_error() {
  assert_prints(
    r#"
    let canceling = true;
    addEventListener("error", (e) => {
      // A thrown value that is not an error is located where reportError was called.
      console.log(e instanceof ErrorEvent, e.cancelable, e.isTrusted, e.message, e.error?.message ?? e.error, e.lineno > 0);
      if (canceling) e.preventDefault();
    });
    reportError(new RangeError("handled"));
    reportError("a string");
    console.log(reportError.length, typeof reportError(undefined));
    try { reportError(); } catch (e) { console.log(e.constructor.name); }
    "#,
    &[
      "true true true Uncaught RangeError: handled handled true",
      "true true true Uncaught a string a string true",
      "true true true Uncaught undefined undefined true",
      "1 undefined",
      "TypeError",
    ],
  );
  let outcome = run("reportError(new Error('nobody cancels'));\nconsole.log('goes on');");
  assert_eq!(outcome.stdout, "goes on\n");
  assert!(
    outcome.stderr.starts_with("Uncaught Error: nobody cancels"),
    "{}",
    outcome.stderr
  );
  assert!(matches!(
    outcome.result,
    Err(Error::Uncaught { count: 1, .. })
  ));
}

#[test]
fn unhandled_rejections_are_reported_unless_canceled() {
  let outcome = run("Promise.reject(new TypeError('nobody listens'));");
  assert!(
    outcome
      .stderr
      .starts_with("Uncaught (in promise) TypeError: nobody listens"),
    "{}",
    outcome.stderr
  );
  assert!(matches!(
    outcome.result,
    Err(Error::Uncaught { count: 1, .. })
  ));

  assert_prints(
    r#"
    addEventListener("unhandledrejection", (e) => { console.log("saw", e.reason); e.preventDefault(); });
    Promise.reject("quiet");
    const handledLater = Promise.reject("handled");
    handledLater.catch(() => console.log("caught"));
    "#,
    &["caught", "saw quiet"],
  );
}

#[test]
fn console_formats_values_readably() {
  assert_prints(
    r#"
    console.log("%s is %d years and %o", "Bob", 42.5, { a: [1, "x"] });
    console.log([1, [2, [3, [4]]]], new Map([["k", 1]]), null, undefined, 10n, Symbol("s"));
    console.log({ nested: { deeper: { deepest: { gone: 1 } } } });
    const cyclic = { name: "c" }; cyclic.self = cyclic;
    console.log(cyclic, new Uint8Array([1, 2]), function named() {}, class K {});
    console.info("info"); console.debug("debug");
    "#,
    &[
      "Bob is 42.5 years and { a: [ 1, 'x' ] }",
      "[ 1, [ 2, [ 3, [Array] ] ] ] Map(1) { 'k' => 1 } null undefined 10n Symbol(s)",
      "{ nested: { deeper: { deepest: [Object] } } }",
      "{ name: 'c', self: [Circular *] } Uint8Array(2) [ 1, 2 ] [Function: named] [class K]",
      "info",
      "debug",
    ],
  );
  let outcome = run("console.error('to', 'stderr'); console.warn({ w: 1 });");
  assert_eq!(outcome.stderr, "to stderr\n{ w: 1 }\n");
}

#[test]
fn events_survive_a_polluted_object_prototype() {
  // isTrusted is defined with a descriptor object; one inheriting `value` or `set` from
  // Object.prototype would be invalid or give the accessor a setter.
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => {
      const d = Object.getOwnPropertyDescriptor(e, "isTrusted");
      console.log("message", e.data, e.isTrusted, d.set, d.configurable, d.enumerable);
      port1.close();
    };
    Object.prototype.value = 1;
    Object.prototype.set = function () {};
    const own = new Event("x");
    const d = Object.getOwnPropertyDescriptor(own, "isTrusted");
    console.log("event", own.isTrusted, d.set, d.configurable, d.enumerable);
    port1.postMessage("hi");
    "#,
    &[
      "event false undefined false true",
      "message hi true undefined false true",
    ],
  );
}

#[test]
fn each_message_event_is_a_fresh_trusted_event() {
  // Delivered events are copies of one never-dispatched event: nothing a listener does to one
  // may show on the next, and each has the event's own isTrusted accessor.
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const events = [];
    port2.addEventListener("message", (e) => {
      events.push(e);
      const d = Object.getOwnPropertyDescriptor(e, "isTrusted");
      console.log(e.data, e.type, e.isTrusted, "mark" in e, e.cancelBubble, e.eventPhase,
        e.currentTarget === port2, typeof d.get, d.configurable, d.enumerable);
      e.mark = true;
      e.stopImmediatePropagation();
      if (events.length === 3) {
        port1.close();
        const getter = (x) => Object.getOwnPropertyDescriptor(x, "isTrusted").get;
        console.log(events[0] !== events[1], getter(events[0]) === getter(new Event("x")),
          events[0].data, events[0].eventPhase, events[0].currentTarget, events[0].timeStamp <= events[2].timeStamp);
      }
    });
    port2.addEventListener("message", () => console.log("never: propagation was stopped"));
    port2.start();
    port1.postMessage(1);
    port1.postMessage("two");
    port1.postMessage([3]);
    "#,
    &[
      "1 message true false false 2 true function false true",
      "two message true false false 2 true function false true",
      "[ 3 ] message true false false 2 true function false true",
      "true true 1 0 null true",
    ],
  );
}
