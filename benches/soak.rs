//! Soak: long runs of the channel, with the process RSS after each round (after the round's
//! garbage collection, with malloc's free memory given back to the kernel, as in benches/rss.rs):
//! - `messages`: 10M small messages through one channel, posted in batches of 10k (the next
//!   batch once the last one is delivered, so the queue never holds more), 1M per round; the
//!   receiver checks each one arrives once, in order;
//! - `channels`: 1M channels made and dropped, 100k per round, with garbage collection between
//!   rounds; a quarter each: a message queued and never read, a message delivered to a
//!   listener, closed by one side with a `close` listener on the other, dropped untouched;
//! - `moves`: 100k ports moved between two runtimes on two threads, 10k per round: each goes
//!   to the other runtime, echoes its number to its peer there and comes back (200k moves).
//!
//! Each round prints its RSS, the V8 heap, the live ports and the time it took; each scenario
//! ends with the RSS after the last round relative to the RSS after the first (the goal: within
//! 10 %, i.e. at most 110 %).
//!
//! `cargo bench --bench soak [-- messages|channels|moves] [--quick] [--rounds N]` (all three
//! by default, each in a process of its own; `--quick` makes each round a tenth as large;
//! `--rounds` sets the number of rounds, 10 by default). tests/soak.rs runs short forms of the same scenarios
//! (it includes this file) and asserts what they check.

use std::sync::mpsc;
use std::thread;
use std::time::Instant;
use v8_message_channel::{Port, Runtime, RuntimeOptions, entangled_pair};

#[path = "process_memory.rs"]
mod process_memory;
use process_memory::{rss_kib, trim};

/// What one round left behind.
#[derive(Debug, Clone)]
pub struct Round {
  /// Process RSS after the round, its collection and a trim.
  pub rss_kib: u64,
  /// Ports with live records in the measuring runtime after the round.
  pub live_ports: usize,
  /// In `moves`, the same in the runtime on the other thread.
  pub other_live_ports: usize,
  /// Messages that arrived and were checked (in order, once) during the round.
  pub checked: u64,
  /// Messages queued and not delivered in the measuring runtime after the round.
  pub queued: usize,
}

/// A scenario's rounds.
#[derive(Debug, Clone)]
pub struct Report {
  pub rounds: Vec<Round>,
  /// Ports with live records once the scenario let go of everything (both runtimes in
  /// `moves`), after a collection.
  pub live_ports_at_end: usize,
}

impl Report {
  /// RSS after the last round, in percent of the RSS after the first.
  pub fn growth_percent(&self) -> f64 {
    match (self.rounds.first(), self.rounds.last()) {
      (Some(first), Some(last)) if first.rss_kib > 0 => {
        last.rss_kib as f64 * 100.0 / first.rss_kib as f64
      }
      _ => 100.0,
    }
  }

  /// The highest RSS after any round, in percent of the RSS after the first.
  pub fn peak_percent(&self) -> f64 {
    let first = self.rounds.first().map_or(0, |r| r.rss_kib);
    let peak = self.rounds.iter().map(|r| r.rss_kib).max().unwrap_or(0);
    if first == 0 {
      100.0
    } else {
      peak as f64 * 100.0 / first as f64
    }
  }
}

fn tokio() -> tokio::runtime::Runtime {
  tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .expect("tokio runtime")
}

/// Runs the event loop to its end; a reported error is the scenario's failure.
fn run_loop(tokio: &tokio::runtime::Runtime, runtime: &mut Runtime, what: &str) {
  if let Err(e) = tokio.block_on(runtime.run_event_loop()) {
    panic!("{what}: {e}");
  }
}

/// Collects garbage and runs the loop (the sweep and the close events it queues), twice: a
/// close event can leave garbage of its own.
fn collect(tokio: &tokio::runtime::Runtime, runtime: &mut Runtime, what: &str) {
  for _ in 0..2 {
    runtime.collect_garbage();
    run_loop(tokio, runtime, what);
  }
}

fn heap_kib(runtime: &mut Runtime) -> usize {
  runtime
    .isolate()
    .get_heap_statistics()
    .total_physical_size()
    / 1024
}

/// Prints the table's header.
fn header(name: &str, unit: &str) {
  println!(
    "{name}: round  rss_kib  delta_kib  v8_heap_kib  live_ports  queued  checked  seconds  {unit}s_per_s"
  );
}

/// Prints a round's line.
fn line(name: &str, index: usize, round: &Round, before: u64, heap: usize, secs: f64, ops: f64) {
  println!(
    "{:>width$}  {:>7}  {:>9}  {heap:>11}  {:>10}  {:>6}  {:>7}  {secs:>7.2}  {:>11.0}",
    index,
    round.rss_kib,
    round.rss_kib as i64 - before as i64,
    round.live_ports + round.other_live_ports,
    round.queued,
    round.checked,
    ops / secs.max(1e-9),
    width = name.len() + 7,
  );
}

/// Prints the closing line of a scenario.
fn summary(name: &str, what: &str, report: &Report) {
  println!(
    "{name}: {what}; {} live ports at the end",
    report.live_ports_at_end
  );
  println!(
    "{name}: RSS after the last round is {:.1} % of the first round's (peak {:.1} %, goal <= 110 %)",
    report.growth_percent(),
    report.peak_percent(),
  );
}

/// Runs `rounds` rounds of `round(per_round)` (a function the scenario defined) in `runtime`,
/// each followed by a collection, and prints and records what each left behind. `checked` is a
/// JS expression counting what the scenario checked so far; returns the report and its final
/// value.
fn rounds_in_one_runtime(
  name: &str,
  unit: &str,
  tokio: &tokio::runtime::Runtime,
  runtime: &mut Runtime,
  (rounds, per_round): (usize, u64),
  checked: &str,
) -> (Report, u64) {
  let before = rss_kib();
  header(name, unit);
  let mut report = Report {
    rounds: Vec::new(),
    live_ports_at_end: 0,
  };
  let mut total = 0;
  for index in 1..=rounds {
    let start = Instant::now();
    runtime
      .execute_script("round.js", &format!("round({per_round});"))
      .expect("round");
    run_loop(tokio, runtime, name);
    let secs = start.elapsed().as_secs_f64();
    collect(tokio, runtime, name);
    let now: u64 = runtime.eval(checked).expect("counts");
    trim();
    let round = Round {
      rss_kib: rss_kib(),
      live_ports: runtime.live_ports(),
      other_live_ports: 0,
      checked: now - total,
      queued: runtime.queued_messages(),
    };
    total = now;
    line(
      name,
      index,
      &round,
      before,
      heap_kib(runtime),
      secs,
      per_round as f64,
    );
    report.rounds.push(round);
  }
  (report, total)
}

/// `messages`: `rounds` rounds of `per_round` small messages (`{ n }`) through one channel,
/// posted `batch` at a time.
pub fn messages(rounds: usize, per_round: u64, batch: u64) -> Report {
  let name = "messages";
  let tokio = tokio();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  runtime
    .execute_script(
      "messages.js",
      &format!(
        r#"
        (function () {{
          const BATCH = {batch};
          const {{ port1, port2 }} = new MessageChannel();
          globalThis.soak = {{ port1, delivered: 0, posted: 0, target: 0 }};
          const postBatch = () => {{
            const end = Math.min(soak.posted + BATCH, soak.target);
            while (soak.posted < end) port1.postMessage({{ n: soak.posted++ }});
          }};
          port2.onmessage = (e) => {{
            if (e.data.n !== soak.delivered) throw new Error(`expected ${{soak.delivered}}, got ${{e.data.n}}`);
            soak.delivered++;
            if (soak.delivered === soak.posted && soak.posted < soak.target) postBatch();
          }};
          globalThis.round = (count) => {{ soak.target += count; postBatch(); }};
        }})();
        "#
      ),
    )
    .expect("setup");
  let (mut report, delivered) = rounds_in_one_runtime(
    name,
    "message",
    &tokio,
    &mut runtime,
    (rounds, per_round),
    "soak.delivered",
  );
  // The channel goes: nothing is left behind.
  runtime
    .execute_script("end.js", "soak.port1.close(); soak = null; round = null;")
    .expect("end");
  collect(&tokio, &mut runtime, name);
  report.live_ports_at_end = runtime.live_ports();
  summary(
    name,
    &format!("{delivered} messages through one channel, in order"),
    &report,
  );
  report
}

/// `channels`: `rounds` rounds of `per_round` channels made and dropped (see the module docs).
pub fn channels(rounds: usize, per_round: u64) -> Report {
  let name = "channels";
  let tokio = tokio();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  runtime
    .execute_script(
      "channels.js",
      r#"
      globalThis.soak = { delivered: 0, closes: 0 };
      globalThis.round = (count) => {
        for (let i = 0; i < count; i++) {
          const { port1, port2 } = new MessageChannel();
          switch (i % 4) {
            case 0:
              // Queued and never read: dropped with the ports.
              port2.start();
              port1.postMessage({ i });
              break;
            case 1:
              port2.onmessage = (e) => {
                if (e.data.i !== i) throw new Error(`channel ${i} got ${e.data.i}`);
                soak.delivered++;
              };
              port1.postMessage({ i });
              break;
            case 2:
              port2.onclose = () => soak.closes++;
              port1.close();
              break;
            default:
              // Dropped untouched.
              break;
          }
        }
      };
      "#,
    )
    .expect("setup");
  // Messages delivered and close events heard (some during the collection), each checked once.
  let (mut report, checked) = rounds_in_one_runtime(
    name,
    "channel",
    &tokio,
    &mut runtime,
    (rounds, per_round),
    "soak.delivered + soak.closes",
  );
  report.live_ports_at_end = runtime.live_ports();
  summary(
    name,
    &format!(
      "{} channels made and dropped, {checked} messages and close events checked",
      rounds as u64 * per_round
    ),
    &report,
  );
  report
}

/// The runtime on the other thread in `moves`: each port that comes over the link echoes its
/// number to its peer and goes back.
const ECHO: &str = r#"
  globalThis.listen = () => {
    const back = link;
    back.onmessage = (e) => {
      const [moved] = e.ports;
      moved.postMessage(e.data);
      back.postMessage(e.data, [moved]);
    };
  };
"#;

/// The measuring runtime in `moves`: a round sends `count` new ports (at most `WINDOW` away at
/// once) and checks each echo and each return, in order. A failure closes the link (so both
/// loops end) and is kept in `soak.errors`.
const SEND: &str = r#"
  globalThis.soak = { checked: 0, errors: [] };
  globalThis.round = (count, base) => {
    const WINDOW = 1000;
    const link = globalThis.link;
    let sent = 0, echoed = 0, returned = 0;
    const fail = (message) => { soak.errors.push(message); link.close(); };
    const finish = () => { if (echoed === count && returned === count) link.close(); };
    const sendMore = () => {
      while (sent < count && sent - returned < WINDOW) {
        const i = base + sent++;
        const { port1, port2 } = new MessageChannel();
        port1.onmessage = (e) => {
          if (e.data !== i) return fail(`port ${i} echoed ${e.data}`);
          echoed++;
          soak.checked++;
          port1.close();
          finish();
        };
        link.postMessage(i, [port2]);
      }
    };
    link.onmessage = (e) => {
      const expected = base + returned;
      if (e.data !== expected || e.ports.length !== 1) return fail(`expected port ${expected} back, got ${e.data}`);
      e.ports[0].close();
      returned++;
      soak.checked++;
      sendMore();
      finish();
    };
    sendMore();
  };
"#;

/// `moves`: `rounds` rounds of `per_round` ports sent to a runtime on another thread and back.
pub fn moves(rounds: usize, per_round: u64) -> Report {
  let name = "moves";
  let (links, their_links) = mpsc::channel::<Port>();
  let (reports, their_reports) = mpsc::channel::<usize>();
  // The other runtime lives on its own thread for the whole run; each round it adopts a new
  // link, runs until the link closes, collects garbage and reports its live ports.
  let other = thread::spawn(move || {
    let tokio = tokio();
    let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    runtime.execute_script("echo.js", ECHO).expect("setup");
    for link in their_links {
      runtime.define_port("link", link).expect("link");
      runtime
        .execute_script("listen.js", "listen();")
        .expect("listen");
      run_loop(&tokio, &mut runtime, "moves (other thread)");
      runtime
        .execute_script("unlink.js", "link = undefined;")
        .expect("unlink");
      collect(&tokio, &mut runtime, "moves (other thread)");
      if reports.send(runtime.live_ports()).is_err() {
        break;
      }
    }
  });
  let tokio = tokio();
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
  runtime.execute_script("send.js", SEND).expect("setup");
  let before = rss_kib();
  header(name, "port");
  let mut report = Report {
    rounds: Vec::new(),
    live_ports_at_end: 0,
  };
  let mut checked = 0;
  for index in 1..=rounds {
    let start = Instant::now();
    let (link, theirs) = entangled_pair();
    links.send(theirs).expect("the other thread runs");
    runtime.define_port("link", link).expect("link");
    let base = (index as u64 - 1) * per_round;
    runtime
      .execute_script("round.js", &format!("round({per_round}, {base});"))
      .expect("round");
    run_loop(&tokio, &mut runtime, name);
    let other_live_ports = their_reports.recv().expect("the other thread reports");
    let secs = start.elapsed().as_secs_f64();
    let errors: Vec<String> = runtime.eval("soak.errors").expect("errors");
    assert!(errors.is_empty(), "{name}: {}", errors.join("; "));
    let now: u64 = runtime.eval("soak.checked").expect("checked");
    runtime
      .execute_script("unlink.js", "link = undefined;")
      .expect("unlink");
    collect(&tokio, &mut runtime, name);
    trim();
    let round = Round {
      rss_kib: rss_kib(),
      live_ports: runtime.live_ports(),
      other_live_ports,
      checked: now - checked,
      queued: runtime.queued_messages(),
    };
    checked = now;
    line(
      name,
      index,
      &round,
      before,
      heap_kib(&mut runtime),
      secs,
      per_round as f64,
    );
    report.rounds.push(round);
  }
  drop(links);
  other.join().expect("the other thread ends");
  report.live_ports_at_end = report
    .rounds
    .last()
    .map_or(0, |r| r.live_ports + r.other_live_ports);
  summary(
    name,
    &format!(
      "{} ports moved to the other thread and back ({} moves), {checked} echoes and returns checked",
      rounds as u64 * per_round,
      2 * rounds as u64 * per_round
    ),
    &report,
  );
  report
}

/// The scenarios, by name.
const SCENARIOS: [&str; 3] = ["messages", "channels", "moves"];

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let quick = args.iter().any(|a| a == "--quick");
  let rounds = args
    .iter()
    .position(|a| a == "--rounds")
    .and_then(|at| args.get(at + 1))
    .map(|n| n.parse::<usize>().expect("--rounds takes a number"))
    .unwrap_or(10);
  let which: Vec<&str> = args
    .iter()
    .map(String::as_str)
    .filter(|a| SCENARIOS.contains(a))
    .collect();
  let start = Instant::now();
  if which.is_empty() {
    // Each scenario in a process of its own, so that its RSS is not what the one before left.
    for scenario in SCENARIOS {
      let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .arg(scenario)
        .args(&args)
        .status()
        .expect("the bench runs");
      assert!(status.success(), "{scenario}: {status}");
    }
  } else {
    let scale = if quick { 10 } else { 1 };
    for scenario in which {
      let report = match scenario {
        "messages" => messages(rounds, 1_000_000 / scale, 10_000),
        "channels" => channels(rounds, 100_000 / scale),
        _ => moves(rounds, 10_000 / scale),
      };
      if report.growth_percent() > 110.0 {
        println!("{scenario}: above the goal");
      }
    }
  }
  println!(
    "soak: {:.1} s{}",
    start.elapsed().as_secs_f64(),
    if quick { " (--quick)" } else { "" }
  );
}
