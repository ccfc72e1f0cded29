//! Ports across runtimes and threads: an entangled pair handed to two runtimes on two threads,
//! ports transferred between them, shared memory, liveness and close when a runtime goes.

use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use v8_message_channel::{Error, Port, Runtime, RuntimeOptions, entangled_pair};

/// What a runtime on its own thread printed, and how its event loop ended.
struct Ended {
  stdout: String,
  stderr: String,
  result: Result<(), Error>,
}

/// Runs `source` in a new runtime on a new thread, with `ports` as globals, until its event loop
/// is done.
fn spawn(source: &'static str, ports: Vec<(&'static str, Port)>) -> thread::JoinHandle<Ended> {
  thread::spawn(move || {
    let (mut runtime, captured) = crate::setup::runtime_from(RuntimeOptions::default());
    for (name, port) in ports {
      runtime.define_port(name, port).expect("port defined");
    }
    let result = runtime
      .execute_script("thread.js", source)
      .and_then(|()| crate::setup::block_on(runtime.run_event_loop()));
    let (stdout, stderr) = captured.borrow().clone();
    Ended {
      stdout,
      stderr,
      result,
    }
  })
}

#[track_caller]
fn ok(ended: Ended) -> String {
  if let Err(e) = &ended.result {
    panic!("{e}\nstdout:\n{}\nstderr:\n{}", ended.stdout, ended.stderr);
  }
  assert_eq!(ended.stderr, "");
  ended.stdout
}

#[test]
fn two_runtimes_on_two_threads_talk_over_a_pair() {
  let (a, b) = entangled_pair();
  let left = spawn(
    r#"
    port.onmessage = (e) => {
      console.log("left got", JSON.stringify(e.data));
      port.close();
    };
    port.postMessage({ hello: "from the left", list: [1, 2, 3] });
    "#,
    vec![("port", a)],
  );
  let right = spawn(
    r#"
    port.onmessage = (e) => {
      console.log("right got", JSON.stringify(e.data));
      port.postMessage({ reply: e.data.list.length });
    };
    port.onclose = () => console.log("right closed");
    "#,
    vec![("port", b)],
  );
  assert_eq!(ok(left.join().unwrap()), "left got {\"reply\":3}\n");
  assert_eq!(
    ok(right.join().unwrap()),
    "right got {\"hello\":\"from the left\",\"list\":[1,2,3]}\nright closed\n"
  );
}

/// A million messages each way, in order, none lost, while the receiver is busy posting its own.
#[test]
fn a_flood_each_way_keeps_order_and_loses_nothing() {
  let (a, b) = entangled_pair();
  let source = r#"
    const N = 1000000;
    let next = 0;
    let sent = 0;
    // Done once everything was sent and everything received (what was sent is delivered even
    // after this side closes).
    const finish = () => {
      if (next === N && sent === N) {
        console.log("received", next, "sent", sent);
        port.close();
      }
    };
    port.onmessage = (e) => {
      if (e.data !== next) throw new Error(`expected ${next}, got ${e.data}`);
      next++;
      finish();
    };
    // Post in slices, so both threads post and receive at the same time.
    const slice = () => {
      for (let i = 0; i < 5000 && sent < N; i++) port.postMessage(sent++);
      if (sent < N) setTimeout(slice, 0);
      else finish();
    };
    slice();
  "#;
  let left = spawn(source, vec![("port", a)]);
  let right = spawn(source, vec![("port", b)]);
  for side in [left, right] {
    let out = ok(side.join().unwrap());
    assert_eq!(out, "received 1000000 sent 1000000\n");
  }
}

/// A port moves back and forth between the two runtimes while its peer keeps posting to it:
/// whoever holds it receives every message once, in order.
#[test]
fn a_port_moves_between_runtimes_while_messages_are_in_flight() {
  let (a, b) = entangled_pair();
  // Both sides: hold the travelling port for a while, then send it to the other side.
  const TRAVEL: &str = r#"
    const N = 20000;
    let received = 0;
    let hops = 0;
    function hold(port, seen) {
      hops++;
      port.onmessage = (m) => {
        if (m.data !== seen) throw new Error(`expected ${seen}, got ${m.data}`);
        seen++;
        received++;
        if (seen === N) {
          link.postMessage({ done: true });
          port.close();
          finish();
        } else if (seen % EVERY === 0) {
          port.onmessage = null;
          link.postMessage({ next: seen }, [port]);
        }
      };
    }
    link.onmessage = (e) => {
      if (e.data.done) finish();
      else hold(e.ports[0], e.data.next);
    };
  "#;
  let left = spawn(
    Box::leak(
      format!(
        r#"const EVERY = 997;
        {TRAVEL}
        // The left keeps `sender` and posts to `receiver`, which travels.
        const {{ port1: sender, port2: receiver }} = new MessageChannel();
        let posted = 0;
        const post = () => {{
          for (let i = 0; i < 500 && posted < N; i++) sender.postMessage(posted++);
          if (posted < N) setTimeout(post, 0);
        }};
        function finish() {{
          console.log("received", received, "hops", hops > 2);
          sender.close();
          link.close();
        }}
        link.postMessage({{ next: 0 }}, [receiver]);
        post();
        "#
      )
      .into_boxed_str(),
    ),
    vec![("link", a)],
  );
  let right = spawn(
    Box::leak(
      format!(
        r#"const EVERY = 1009;
        {TRAVEL}
        function finish() {{
          console.log("received", received, "hops", hops > 2);
          link.close();
        }}
        "#
      )
      .into_boxed_str(),
    ),
    vec![("link", b)],
  );
  let count = |out: &str| -> usize {
    let rest = out
      .strip_prefix("received ")
      .and_then(|rest| rest.strip_suffix(" hops true\n"))
      .unwrap_or_else(|| panic!("unexpected output {out:?}"));
    rest.parse().unwrap()
  };
  let left = ok(left.join().unwrap());
  let right = ok(right.join().unwrap());
  assert_eq!(
    count(&left) + count(&right),
    20000,
    "left: {left}right: {right}"
  );
}

#[test]
fn shared_array_buffers_are_shared_between_threads() {
  let (a, b) = entangled_pair();
  let left = spawn(
    r#"
    const memory = new Int32Array(new SharedArrayBuffer(8));
    port.onmessage = () => {
      // The right thread wrote into the same memory.
      console.log("left sees", Atomics.load(memory, 0), Atomics.load(memory, 1));
      port.close();
    };
    port.postMessage(memory);
    "#,
    vec![("port", a)],
  );
  let right = spawn(
    r#"
    port.onmessage = (e) => {
      Atomics.store(e.data, 0, 42);
      Atomics.add(e.data, 1, 7);
      port.postMessage("written");
    };
    "#,
    vec![("port", b)],
  );
  assert_eq!(ok(left.join().unwrap()), "left sees 42 7\n");
  assert_eq!(ok(right.join().unwrap()), "");
}

/// A started port with a listener keeps its loop alive while its peer lives in another runtime;
/// when that runtime is dropped, the port gets `close` and the loop ends.
#[test]
fn dropping_a_runtime_closes_its_ports_and_ends_the_waiting_loop() {
  let (a, b) = entangled_pair();
  let (ready, wait) = mpsc::channel::<()>();
  let (drop_now, told) = mpsc::channel::<()>();
  let holder = thread::spawn(move || {
    let mut runtime = Runtime::new(RuntimeOptions {
      output: Some(Rc::new(|_, _| {})),
      ..Default::default()
    })
    .unwrap();
    runtime.define_port("port", a).unwrap();
    runtime
      .execute_script("holder.js", "port.postMessage('hello');")
      .unwrap();
    ready.send(()).unwrap();
    told.recv().unwrap();
    drop(runtime);
  });
  let listener = spawn(
    r#"
    port.onmessage = (e) => console.log("got", e.data);
    port.onclose = () => console.log("closed");
    "#,
    vec![("port", b)],
  );
  wait.recv().unwrap();
  // The listener's loop waits for the other thread; nothing else keeps it running.
  thread::sleep(std::time::Duration::from_millis(50));
  assert!(!listener.is_finished(), "the loop must wait for the peer");
  drop_now.send(()).unwrap();
  holder.join().unwrap();
  assert_eq!(ok(listener.join().unwrap()), "got hello\nclosed\n");
}

/// A port sent to a runtime on another thread over a pair moves there; its peer stays here.
#[test]
fn a_port_posted_to_another_runtime_moves_there() {
  let (a, b) = entangled_pair();
  let here = spawn(
    r#"
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (e) => { console.log("reply:", e.data); port1.close(); link.close(); };
    link.postMessage("take this", [port2]);
    "#,
    vec![("link", a)],
  );
  let there = spawn(
    r#"
    link.onmessage = (e) => {
      const [moved] = e.ports;
      moved.postMessage(`${e.data} / answered from another thread`);
      moved.close();
    };
    "#,
    vec![("link", b)],
  );
  assert_eq!(
    ok(here.join().unwrap()),
    "reply: take this / answered from another thread\n"
  );
  assert_eq!(ok(there.join().unwrap()), "");
}
