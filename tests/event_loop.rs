//! Timers, microtasks, script and module errors, and when the loop ends.

use crate::setup::{assert_prints, block_on, run, runtime_with};
use std::time::{Duration, Instant};
use v8_message_channel::{Compat, Error};

#[test]
fn timers_fire_in_deadline_order() {
  assert_prints(
    r#"
    setTimeout(() => console.log("100"), 100);
    setTimeout(() => console.log("0"), 0);
    setTimeout((a, b) => console.log("50", a, b), 50, "x", "y");
    const cancelled = setTimeout(() => console.log("never"), 5);
    clearTimeout(cancelled);
    let n = 0;
    const interval = setInterval(() => { console.log("tick", ++n); if (n === 3) clearInterval(interval); }, 1);
    queueMicrotask(() => console.log("microtask"));
    console.log("sync", typeof interval);
    "#,
    &[
      "sync number",
      "microtask",
      "0",
      "tick 1",
      "tick 2",
      "tick 3",
      "50 x y",
      "100",
    ],
  );
}

#[test]
fn queue_microtask_checks_its_argument() {
  assert_prints(
    r#"
    try { queueMicrotask(1); } catch (e) { console.log(e.constructor.name); }
    try { queueMicrotask(); } catch (e) { console.log(e.constructor.name); }
    "#,
    &["TypeError", "TypeError"],
  );
}

#[test]
fn a_waiting_port_does_not_keep_the_loop_alive() {
  let started = Instant::now();
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = () => console.log("never");
    port1.start();
    console.log("waiting");
    "#,
    &["waiting"],
  );
  assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn message_ping_pong_does_not_starve_timers() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    let count = 0, stop = false;
    port2.onmessage = () => { count++; if (!stop) port2.postMessage(0); };
    port1.onmessage = () => { if (!stop) port1.postMessage(0); };
    port1.postMessage(0);
    setTimeout(() => { stop = true; console.log("timer ran", count > 0); }, 20);
    "#,
    &["timer ran true"],
  );
}

#[test]
fn an_exception_escaping_a_script_comes_back_with_its_stack() {
  let outcome = run("function inner() { throw new TypeError('bad'); }\ninner();");
  match outcome.result {
    Err(Error::Exception(e)) => {
      assert_eq!(e.message, "TypeError: bad");
      let stack = e.stack.expect("errors have stacks");
      assert!(stack.contains("at inner (test.js:1:"), "{stack}");
    }
    other => panic!("expected an exception, got {other:?}"),
  }
  let outcome = run("throw 'plain string';");
  assert!(matches!(outcome.result, Err(Error::Exception(e)) if e.message == "plain string"));
  let outcome = run("this is not javascript");
  assert!(
    matches!(outcome.result, Err(Error::Exception(e)) if e.message.starts_with("SyntaxError"))
  );
}

#[test]
fn a_throwing_timer_is_reported_and_the_loop_goes_on() {
  let outcome = run(
    r#"
    setTimeout(() => { throw new Error("timer failed"); }, 0);
    setTimeout(() => console.log("later timer"), 5);
    "#,
  );
  assert_eq!(outcome.lines(), ["later timer"]);
  assert!(outcome.stderr.contains("Uncaught Error: timer failed"));
  assert!(matches!(
    outcome.result,
    Err(Error::Uncaught { count: 1, .. })
  ));
}

fn write_module_files(dir: &std::path::Path) {
  std::fs::create_dir_all(dir.join("lib")).unwrap();
  std::fs::write(
    dir.join("lib/helper.mjs"),
    "export const greet = (name) => `hello ${name}`;\n",
  )
  .unwrap();
  std::fs::write(
    dir.join("main.mjs"),
    r#"import { greet } from "./lib/helper.mjs";
const { port1, port2 } = new MessageChannel();
const received = new Promise((resolve) => { port2.onmessage = (e) => resolve(e.data); });
port1.postMessage(greet("module"));
console.log(await received);
"#,
  )
  .unwrap();
  std::fs::write(
    dir.join("rejects.mjs"),
    "await new Promise((r) => setTimeout(r, 1));\nthrow new Error('tla failed');\n",
  )
  .unwrap();
  std::fs::write(dir.join("stalls.mjs"), "await new Promise(() => {});\n").unwrap();
  std::fs::write(dir.join("bare.mjs"), "import 'left-pad';\n").unwrap();
}

#[test]
fn modules_import_relative_files_and_await_at_top_level() {
  let dir = std::env::temp_dir().join(format!("v8mc-modules-{}", std::process::id()));
  write_module_files(&dir);

  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime.execute_module(dir.join("main.mjs")).unwrap();
  block_on(runtime.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "hello module\n");

  let (mut runtime, _) = runtime_with(Compat::latest());
  runtime.execute_module(dir.join("rejects.mjs")).unwrap();
  let err = block_on(runtime.run_event_loop()).unwrap_err();
  assert!(
    matches!(&err, Error::Exception(e) if e.message == "Error: tla failed"),
    "{err:?}"
  );

  let (mut runtime, _) = runtime_with(Compat::latest());
  runtime.execute_module(dir.join("stalls.mjs")).unwrap();
  let err = block_on(runtime.run_event_loop()).unwrap_err();
  assert!(matches!(err, Error::StalledTopLevelAwait(_)), "{err:?}");

  let (mut runtime, _) = runtime_with(Compat::latest());
  let err = runtime.execute_module(dir.join("bare.mjs")).unwrap_err();
  assert!(err.to_string().contains("bare specifier"), "{err}");
  let err = runtime.execute_module(dir.join("missing.mjs")).unwrap_err();
  assert!(err.to_string().contains("Cannot load module"), "{err}");
  std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_converts_values_with_serde() {
  let (mut runtime, _) = runtime_with(Compat::latest());
  let value: Vec<String> = runtime
    .eval("[typeof MessageChannel, typeof self]")
    .unwrap();
  assert_eq!(value, ["function", "object"]);
}

#[test]
fn finalization_callbacks_run_and_their_messages_are_delivered() {
  // V8 runs FinalizationRegistry callbacks as platform tasks; the loop serves them before it
  // decides that nothing is left, and runs what they queue.
  let (mut runtime, captured) = runtime_with(Compat::latest());
  runtime
    .execute_script(
      "finalize.js",
      r#"
      const { port1, port2 } = new MessageChannel();
      port2.onmessage = (e) => { console.log("delivered", e.data); port1.close(); };
      globalThis.registry = new FinalizationRegistry((held) => {
        console.log("finalized", held);
        port1.postMessage(held);
      });
      (() => registry.register({}, "token"))();
      "#,
    )
    .unwrap();
  runtime.collect_garbage();
  block_on(runtime.run_event_loop()).unwrap();
  let (stdout, stderr) = captured.borrow().clone();
  assert_eq!(
    stdout, "finalized token\ndelivered token\n",
    "stderr: {stderr}"
  );
}
