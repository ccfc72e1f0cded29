//! Two runtimes on two threads talking over an entangled pair of ports, and over a port one of
//! them transfers to the other. Run it with `cargo run --example two_runtimes`.

use std::thread;
use v8_message_channel::{Port, Runtime, RuntimeOptions, entangled_pair};

/// Runs `script` in a new runtime on this thread, with `port` as the global `link`, until its
/// event loop has nothing left to wait for.
fn run(name: &str, script: &str, port: Port) {
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime starts");
  runtime.define_port("link", port).expect("port defined");
  runtime.execute_script(name, script).expect("script runs");
  // A runtime needs an event loop: a current-thread tokio runtime per thread.
  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .expect("tokio starts");
  tokio
    .block_on(runtime.run_event_loop())
    .expect("no uncaught errors");
}

fn main() {
  // An entangled pair, made outside any runtime: each end goes to one thread.
  let (left, right) = entangled_pair();

  let client = thread::spawn(move || {
    run(
      "client.js",
      r#"
      // A private channel for the answers: its port2 moves to the other thread.
      const { port1: answers, port2 } = new MessageChannel();
      answers.onmessage = (e) => {
        console.log("client: answer", e.data);
        answers.close();
        link.close();
      };
      link.onmessage = (e) => console.log("client: server says", e.data);
      link.postMessage({ question: "6 * 7?" }, [port2]);
      "#,
      left,
    )
  });

  let server = thread::spawn(move || {
    run(
      "server.js",
      r#"
      link.onmessage = (e) => {
        const [reply] = e.ports;
        link.postMessage("got your question and a port");
        reply.postMessage(6 * 7);
      };
      // The client closed the pair: nothing is left to wait for.
      link.onclose = () => console.log("server: the client went");
      "#,
      right,
    )
  });

  client.join().expect("client thread");
  server.join().expect("server thread");
  println!("both runtimes are done");
}
