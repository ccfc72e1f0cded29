//! Installing into an embedder's own isolate and context, driven by the embedder's loop.

use crate::setup::{block_on, in_own_process, runtime_with};
use std::cell::RefCell;
use std::rc::Rc;
use v8_message_channel::{
  Compat, Poll, Stream, entangled_pair, install_with_output, run_tasks, take_uncaught_errors,
};

#[test]
fn install_into_a_hand_made_context_and_drive_delivery() {
  v8_message_channel::init_v8();
  let lines = Rc::new(RefCell::new(Vec::<String>::new()));
  let sink = lines.clone();
  let mut isolate = v8::Isolate::new(Default::default());
  {
    v8::scope!(let scope, &mut isolate);
    let context = v8::Context::new(scope, Default::default());
    install_with_output(
      scope,
      context,
      &Compat::latest(),
      Rc::new(move |stream, text| sink.borrow_mut().push(format!("{stream:?}: {text}"))),
    )
    .unwrap();
    let scope = &mut v8::ContextScope::new(scope, context);
    let code = v8::String::new(
      scope,
      r#"
      const { port1, port2 } = new MessageChannel();
      console.log(self === globalThis, globalThis instanceof EventTarget, typeof MessageChannel);
      port2.onmessage = (e) => console.log("got", e.data.byteLength ?? e.data);
      port1.postMessage("one");
      // Large buffers take the serializer here (the isolate's allocator is the embedder's).
      port1.postMessage(new Uint8Array(1 << 20));
      setTimeout(() => port1.postMessage("two"), 5);
      "#,
    )
    .unwrap();
    v8::Script::compile(scope, code, None)
      .unwrap()
      .run(scope)
      .unwrap();
    let mut turns = 0;
    loop {
      turns += 1;
      match run_tasks(scope) {
        Poll::Ready => {}
        Poll::WaitUntil(deadline) => {
          std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()))
        }
        Poll::Waiting | Poll::Done => break,
      }
    }
    assert!(turns >= 2);
    assert!(take_uncaught_errors(scope).is_empty());
    // Installing twice is refused rather than corrupting the state.
    assert!(install_with_output(scope, context, &Compat::latest(), Rc::new(|_, _| {})).is_err());
  }
  assert_eq!(
    *lines.borrow(),
    [
      "Stdout: true true function\n",
      "Stdout: got one\n",
      "Stdout: got 1048576\n",
      "Stdout: got two\n"
    ]
  );
  let _ = Stream::Stdout;
}

#[test]
fn installed_contexts_have_import_and_performance() {
  v8_message_channel::init_v8();
  let dir = std::env::temp_dir().join(format!("v8mc-embed-import-{}", std::process::id()));
  std::fs::create_dir_all(&dir).unwrap();
  std::fs::write(
    dir.join("lib.mjs"),
    "export const where = import.meta.url;\n",
  )
  .unwrap();
  let lines = Rc::new(RefCell::new(Vec::<String>::new()));
  let sink = lines.clone();
  let mut isolate = v8::Isolate::new(Default::default());
  isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
  {
    v8::scope!(let scope, &mut isolate);
    let context = v8::Context::new(scope, Default::default());
    install_with_output(
      scope,
      context,
      &Compat::latest(),
      Rc::new(move |_, text| sink.borrow_mut().push(text.to_string())),
    )
    .unwrap();
    let scope = &mut v8::ContextScope::new(scope, context);
    let code = v8::String::new(
      scope,
      r#"
      const t = performance.now();
      import("./lib.mjs").then((m) => console.log(m.where.endsWith("/lib.mjs"), performance.now() > t));
      "#,
    )
    .unwrap();
    // The script's name is what its import() resolves against.
    let name = v8::String::new(scope, &dir.join("main.js").to_string_lossy()).unwrap();
    let origin = v8::ScriptOrigin::new(
      scope,
      name.into(),
      0,
      0,
      false,
      0,
      None,
      false,
      false,
      false,
      None,
    );
    v8::Script::compile(scope, code, Some(&origin))
      .unwrap()
      .run(scope)
      .unwrap();
    while run_tasks(scope) != Poll::Done {}
    assert!(
      take_uncaught_errors(scope).is_empty(),
      "{:?}",
      lines.borrow()
    );
  }
  assert_eq!(*lines.borrow(), ["true true\n"]);
  std::fs::remove_dir_all(&dir).unwrap();
}

/// Two embedder-made isolates on two threads, each with the extension installed, share an
/// entangled pair; the embedders' loops sleep in `wait_for_tasks` until the other thread posts.
#[test]
fn installed_contexts_on_two_threads_share_a_pair() {
  use v8_message_channel::{adopt_port_into, entangled_pair, wait_for_tasks};
  v8_message_channel::init_v8();
  let (a, b) = entangled_pair();
  let run = |port: v8_message_channel::Port, source: &'static str| {
    std::thread::spawn(move || {
      let lines = Rc::new(RefCell::new(String::new()));
      let sink = lines.clone();
      let mut isolate = v8::Isolate::new(Default::default());
      isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
      {
        v8::scope!(let scope, &mut isolate);
        let context = v8::Context::new(scope, Default::default());
        install_with_output(
          scope,
          context,
          &Compat::latest(),
          Rc::new(move |_, text| sink.borrow_mut().push_str(text)),
        )
        .unwrap();
        let scope = &mut v8::ContextScope::new(scope, context);
        let object = adopt_port_into(scope, port).expect("the port is adopted");
        let key = v8::String::new(scope, "port").unwrap();
        let global = context.global(scope);
        global.set(scope, key.into(), object.into()).unwrap();
        let code = v8::String::new(scope, source).unwrap();
        v8::Script::compile(scope, code, None)
          .unwrap()
          .run(scope)
          .unwrap();
        loop {
          match run_tasks(scope) {
            Poll::Ready => {}
            Poll::WaitUntil(deadline) => wait_for_tasks(scope, Some(deadline)),
            Poll::Waiting => wait_for_tasks(scope, None),
            Poll::Done => break,
          }
        }
        assert!(take_uncaught_errors(scope).is_empty());
      }
      lines.borrow().clone()
    })
  };
  let asker = run(
    a,
    "port.onmessage = (e) => { console.log('answer', e.data); port.close(); }; port.postMessage(20);",
  );
  let answerer = run(
    b,
    "port.onmessage = (e) => port.postMessage(e.data + 22); port.onclose = () => console.log('asker went');",
  );
  assert_eq!(asker.join().unwrap(), "answer 42\n");
  assert_eq!(answerer.join().unwrap(), "asker went\n");
}

/// Runs `source` in a fresh context of `isolate` and returns its result as a string.
fn eval_in(isolate: &mut v8::OwnedIsolate, source: &str) -> String {
  v8::scope!(let scope, isolate);
  let context = v8::Context::new(scope, Default::default());
  let scope = &mut v8::ContextScope::new(scope, context);
  let code = v8::String::new(scope, source).unwrap();
  let script = v8::Script::compile(scope, code, None).unwrap();
  script.run(scope).unwrap().to_rust_string_lossy(scope)
}

#[test]
fn snapshot_runtimes_live_beside_isolates_from_v8s_own_snapshot() {
  // Runtimes restore the library's startup snapshot; an embedder's isolates come from V8's.
  // Isolates share one read-only heap per process, and V8 used to abort when the first isolate
  // was V8's own: so this runs in a process of its own, where that order is certain.
  in_own_process(
    "embed::snapshot_runtimes_live_beside_isolates_from_v8s_own_snapshot",
    || {
      v8_message_channel::init_v8();
      let mut plain = v8::Isolate::new(Default::default());
      assert_eq!(
        eval_in(&mut plain, "[1, 2, 3].map((n) => n * 2).join()"),
        "2,4,6"
      );
      let (mut runtime, captured) = runtime_with(Compat::latest());
      runtime
        .execute_script(
          "beside.js",
          r#"
          const { port1, port2 } = new MessageChannel();
          port2.onmessage = (e) => { console.log("got", e.data.n, structuredClone(e.data).s); port2.close(); };
          port1.postMessage({ n: 1, s: "snapshot" });
          "#,
        )
        .unwrap();
      block_on(runtime.run_event_loop()).unwrap();
      assert_eq!(captured.borrow().0, "got 1 snapshot\n");
      // Both kinds collect garbage, and more of each can come and go.
      runtime.collect_garbage();
      plain.low_memory_notification();
      let mut another = v8::Isolate::new(Default::default());
      assert_eq!(eval_in(&mut another, "typeof MessageChannel"), "undefined");
      // (rusty_v8 drops the isolates of a thread in the reverse order of their creation.)
      drop(another);
      drop(runtime);
      let (mut second, _) = runtime_with(Compat::latest());
      second
        .execute_script("again.js", "new MessageChannel().port1.close();")
        .unwrap();
      drop(second);
      assert_eq!(eval_in(&mut plain, "String(new Map([[1, 2]]).get(1))"), "2");
    },
  );
}

#[test]
fn two_runtimes_run_their_loops_together_on_one_thread() {
  // Both loops polled by one executor on one thread: each enters its isolate only between
  // awaits, so the other can run in between (found in review of the per-stretch enter).
  let (mut one, out_one) = runtime_with(Compat::latest());
  let (mut two, out_two) = runtime_with(Compat::latest());
  let (a, b) = entangled_pair();
  one.define_port("port", a).unwrap();
  two.define_port("port", b).unwrap();
  one
    .execute_script(
      "one.js",
      "port.onmessage = (e) => { if (e.data < 3000) port.postMessage(e.data + 1); \
       else { console.log('one got', e.data); port.close(); } }; port.postMessage(0);",
    )
    .unwrap();
  two
    .execute_script(
      "two.js",
      "port.onmessage = (e) => port.postMessage(e.data + 1); \
       port.onclose = () => console.log('two heard close');",
    )
    .unwrap();
  block_on(async {
    let (first, second) = tokio::join!(one.run_event_loop(), two.run_event_loop());
    first.unwrap();
    second.unwrap();
  });
  assert_eq!(one.eval::<i32>("6 * 7").unwrap(), 42);
  assert_eq!(two.eval::<i32>("6 * 9").unwrap(), 54);
  assert_eq!(out_one.borrow().0, "one got 3001\n");
  assert_eq!(out_two.borrow().0, "two heard close\n");
}
