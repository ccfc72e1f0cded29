//! Memory over repeated runs, from the process RSS (after each round's garbage collection, with
//! malloc's free memory given back to the kernel):
//! - `throughput`: the `throughput` scenario (200k queued small messages) ten times in one
//!   runtime, so growth across rounds shows;
//! - `channels`: a million entangled channels made and dropped, 100k per round, each with a
//!   message queued; then the memory one live port costs (200k ports held at once).
//!
//! `cargo bench --bench rss [-- throughput|channels]` (both by default).

use v8_message_channel::{Runtime, RuntimeOptions};

#[path = "process_memory.rs"]
mod process_memory;
use process_memory::{rss_kib, trim};

/// Runs `script` `rounds` times in one runtime, collecting garbage after each, and prints the
/// RSS after each round. Returns the RSS after the first and after the last round.
fn rounds(name: &str, script: &str, rounds: usize) -> (u64, u64) {
  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .unwrap();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  let before = rss_kib();
  println!("{name}: round  rss_kib  delta_kib  v8_heap_kib  live_ports");
  let mut first = 0;
  let mut last = 0;
  for round in 1..=rounds {
    runtime.execute_script(name, script).expect("scenario runs");
    tokio
      .block_on(runtime.run_event_loop())
      .expect("event loop");
    runtime.collect_garbage();
    tokio
      .block_on(runtime.run_event_loop())
      .expect("event loop");
    trim();
    let rss = rss_kib();
    if round == 1 {
      first = rss;
    }
    last = rss;
    let heap = runtime
      .isolate()
      .get_heap_statistics()
      .total_physical_size()
      / 1024;
    println!(
      "{:>width$}  {rss:>7}  {:>9}  {heap:>11}  {:>10}",
      round,
      rss as i64 - before as i64,
      runtime.live_ports(),
      width = name.len() + 7,
    );
  }
  (first, last)
}

fn throughput() {
  rounds("throughput", include_str!("js/throughput.js"), 10);
}

fn channels() {
  let (first, last) = rounds(
    "channels",
    r#"
    for (let i = 0; i < 100000; i++) {
      const { port1, port2 } = new MessageChannel();
      port2.start();
      port1.postMessage(i);
    }
    "#,
    10,
  );
  println!(
    "channels: 1M made and dropped; RSS after the last round is {:.1} % of the first round's",
    last as f64 * 100.0 / first as f64
  );
  // What a live port costs: 100k channels held at once.
  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .unwrap();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  runtime.collect_garbage();
  trim();
  let before = rss_kib();
  runtime
    .execute_script(
      "held.js",
      "globalThis.held = []; for (let i = 0; i < 100000; i++) held.push(new MessageChannel());",
    )
    .unwrap();
  tokio.block_on(runtime.run_event_loop()).unwrap();
  runtime.collect_garbage();
  trim();
  let after = rss_kib();
  println!(
    "channels: {} live ports cost {:.0} bytes of RSS each (JS objects and Rust records)",
    runtime.live_ports(),
    (after - before) as f64 * 1024.0 / 200_000.0
  );
}

fn main() {
  let which: Vec<String> = std::env::args()
    .skip(1)
    .filter(|arg| !arg.starts_with('-'))
    .collect();
  let all = which.is_empty();
  if all || which.iter().any(|w| w == "throughput") {
    throughput();
  }
  if all || which.iter().any(|w| w == "channels") {
    channels();
  }
}
