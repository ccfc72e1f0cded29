//! Cross-thread ping-pong: two runtimes on two threads bounce a number over an entangled pair
//! (`benches/js/worker_pingpong.mjs` and `worker_echo.mjs`, with `link` as the port), and, in
//! the same run, the same scripts on the anchors that have Web Workers (Bun, Deno from
//! `benches/install-anchors`), where the port is a Worker. Each script times its own round trips
//! after a warm-up, so start-up is not counted; runs are interleaved and the medians printed.
//!
//! `cargo bench --bench threads [-- RUNS]` (default 5 runs).

use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use v8_message_channel::{Runtime, RuntimeOptions, Stream, entangled_pair};

const HERE: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `source` as a module in a runtime on this thread with `port` as `link`, and returns
/// what it printed.
fn run_runtime(name: &str, source: &str, port: v8_message_channel::Port) -> String {
  let printed = Arc::new(Mutex::new(String::new()));
  let sink = printed.clone();
  let mut runtime = Runtime::new(RuntimeOptions {
    output: Some(Rc::new(move |stream, text| {
      if stream == Stream::Stdout {
        sink.lock().unwrap().push_str(text);
      } else {
        eprint!("{text}");
      }
    })),
    ..Default::default()
  })
  .expect("runtime starts");
  runtime.define_port("link", port).expect("port defined");
  let url = format!("file://{HERE}/benches/js/{name}");
  runtime
    .execute_module_source(&url, source)
    .expect("script runs");
  tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .unwrap()
    .block_on(runtime.run_event_loop())
    .expect("event loop");
  std::mem::take(&mut *printed.lock().unwrap())
}

/// One v8mc run: µs per round trip.
fn v8mc_round_trip() -> f64 {
  let main = std::fs::read_to_string(format!("{HERE}/benches/js/worker_pingpong.mjs")).unwrap();
  let echo = std::fs::read_to_string(format!("{HERE}/benches/js/worker_echo.mjs")).unwrap();
  let (a, b) = entangled_pair();
  let echo_thread = std::thread::spawn(move || run_runtime("worker_echo.mjs", &echo, b));
  let printed = run_runtime("worker_pingpong.mjs", &main, a);
  echo_thread.join().unwrap();
  parse(&printed).unwrap_or_else(|| panic!("v8mc printed {printed:?}"))
}

fn parse(printed: &str) -> Option<f64> {
  printed
    .lines()
    .find_map(|line| line.strip_prefix("round trip: "))
    .and_then(|rest| rest.strip_suffix(" us"))
    .and_then(|number| number.parse().ok())
}

/// One run of an anchor: µs per round trip, or `None` if it failed.
fn anchor_round_trip(command: &[String]) -> Option<f64> {
  let script = format!("{HERE}/benches/js/worker_pingpong.mjs");
  let output = Command::new(&command[0])
    .args(&command[1..])
    .arg(&script)
    .output()
    .ok()?;
  parse(&String::from_utf8_lossy(&output.stdout))
}

fn anchors() -> Vec<(&'static str, Vec<String>)> {
  let modules = format!("{HERE}/benches/.anchors/node_modules");
  let mut found = Vec::new();
  let bun = format!("{modules}/@oven/bun-linux-x64/bin/bun");
  if Path::new(&bun).exists() {
    found.push(("bun", vec![bun]));
  }
  let deno = format!("{modules}/@deno/linux-x64-glibc/deno");
  if Path::new(&deno).exists() {
    found.push((
      "deno",
      vec![deno, "run".into(), "--quiet".into(), "--allow-read".into()],
    ));
  }
  found
}

fn median(values: &mut [f64]) -> f64 {
  values.sort_by(f64::total_cmp);
  values[values.len() / 2]
}

fn main() {
  let runs: usize = std::env::args()
    .skip(1)
    .find_map(|arg| arg.parse().ok())
    .unwrap_or(5);
  let anchors = anchors();
  let mut v8mc = Vec::new();
  let mut others: Vec<Vec<f64>> = vec![Vec::new(); anchors.len()];
  for _ in 0..runs {
    v8mc.push(v8mc_round_trip());
    for (index, (_, command)) in anchors.iter().enumerate() {
      if let Some(value) = anchor_round_trip(command) {
        others[index].push(value);
      }
    }
  }
  let ours = median(&mut v8mc);
  println!("cross-thread ping-pong, {runs} interleaved runs, medians (µs per round trip)");
  println!("v8mc (two runtimes, a port pair)  {ours:8.2}");
  for ((name, _), values) in anchors.iter().zip(&mut others) {
    if values.is_empty() {
      println!("{name:<33} failed");
      continue;
    }
    let theirs = median(values);
    println!(
      "{:<33} {theirs:8.2}   {name} / v8mc = {:.2}",
      format!("{name} (a Worker)"),
      theirs / ours
    );
  }
}
