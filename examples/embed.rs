//! Embedding: install MessageChannel into an isolate and context you created yourself, then drive
//! message delivery and timers from your own loop. Run with `cargo run --example embed`.

use v8_message_channel::{Compat, Poll, install, run_tasks, take_uncaught_errors, wait_for_tasks};

fn main() {
  // Initialize V8 once per process (skip this if your program already does).
  v8_message_channel::init_v8();

  // Your isolate. Explicit microtasks: the extension checkpoints after each task it runs.
  let mut isolate = v8::Isolate::new(v8::CreateParams::default());
  isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
  v8::scope!(let scope, &mut isolate);

  // Your context; install the web classes into it, gated by a compatibility date and flags.
  let context = v8::Context::new(scope, Default::default());
  let compat =
    Compat::new("2025-01-01", &["expose_global_message_channel"]).expect("valid settings");
  install(scope, context, &compat).expect("install");

  // Run your scripts as usual.
  let scope = &mut v8::ContextScope::new(scope, context);
  let source = v8::String::new(
    scope,
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => console.log("embedder's context got", e.data);
    port1.postMessage({ hello: "from a hand-made isolate" });
    setTimeout(() => port1.postMessage("and a timer later"), 10);
    "#,
  )
  .expect("source string");
  let script = v8::Script::compile(scope, source, None).expect("compiles");
  script.run(scope).expect("runs");

  // Your event loop: one call to run_tasks per turn; between turns, wait for the next timer or
  // for a message from another thread (a port whose peer lives in another runtime), whichever
  // comes first.
  loop {
    match run_tasks(scope) {
      Poll::Ready => continue,
      Poll::WaitUntil(deadline) => wait_for_tasks(scope, Some(deadline)),
      Poll::Waiting => wait_for_tasks(scope, None),
      Poll::Done => break,
    }
  }

  // Errors that listeners threw were printed as they happened; they are also collected here.
  let errors = take_uncaught_errors(scope);
  println!("done, {} uncaught error(s)", errors.len());
}
