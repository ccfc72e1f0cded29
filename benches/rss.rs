//! Memory over repeated runs: runs the `throughput` scenario (200k queued small messages) ten times
//! in one runtime and prints the process RSS after each round, so growth across rounds shows.
//! `cargo bench --bench rss`

use v8_message_channel::{Runtime, RuntimeOptions};

fn rss_kib() -> u64 {
  // /proc/self/statm: sizes in pages; the second field is the resident set.
  let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
  let pages: u64 = statm
    .split_whitespace()
    .nth(1)
    .and_then(|p| p.parse().ok())
    .unwrap_or(0);
  pages * 4
}

fn main() {
  let scenario = include_str!("js/throughput.js");
  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .unwrap();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  let before = rss_kib();
  println!("round  rss_kib  delta_kib  live_ports");
  for round in 1..=10 {
    runtime
      .execute_script("throughput.js", scenario)
      .expect("scenario runs");
    tokio
      .block_on(runtime.run_event_loop())
      .expect("event loop");
    runtime.collect_garbage();
    let rss = rss_kib();
    println!(
      "{round:>5}  {rss:>7}  {:>9}  {:>10}",
      rss as i64 - before as i64,
      runtime.live_ports()
    );
  }
}
