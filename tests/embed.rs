//! Installing into an embedder's own isolate and context, driven by the embedder's loop.

use std::cell::RefCell;
use std::rc::Rc;
use v8_message_channel::{
  Compat, Poll, Stream, install_with_output, run_tasks, take_uncaught_errors,
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
        Poll::Done => break,
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
