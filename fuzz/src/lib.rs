//! What the fuzz targets share: runtimes made for fuzzing, an event loop driven turn by turn
//! (a `Runtime` whose port waits for an end held in Rust never reaches `Poll::Done`, so
//! `run_event_loop` would wait for ever), and coverage counters fed from what JS observed.

use std::hash::{DefaultHasher, Hash, Hasher};
use v8_message_channel::{Poll, Runtime, RuntimeOptions, Stream, run_tasks, take_uncaught_errors};

/// A runtime for a fuzz target: the startup snapshot (the process holds no other kind of
/// isolate), console output kept in `output` instead of flooding the fuzzer's terminal.
pub fn new_runtime(output: std::rc::Rc<std::cell::RefCell<String>>) -> Runtime {
  Runtime::new(RuntimeOptions {
    startup_snapshot: true,
    output: Some(std::rc::Rc::new(move |stream, text| {
      let mut out = output.borrow_mut();
      // Only the end matters (what led to a failure); keep it bounded.
      if out.len() > 1 << 16 {
        out.clear();
      }
      out.push_str(match stream {
        Stream::Stdout => "",
        Stream::Stderr => "[stderr] ",
      });
      out.push_str(text);
    })),
    ..Default::default()
  })
  .expect("runtime starts")
}

/// Runs `f` in a handle scope with the runtime's context (and isolate) entered.
pub fn with_scope<R>(runtime: &mut Runtime, f: impl FnOnce(&mut v8::PinScope<'_, '_>) -> R) -> R {
  runtime.with_context(f)
}

/// Runs V8's pending platform tasks (GC finalization, the weak callbacks that free collected
/// ports), as `Runtime::run_event_loop` does between turns.
pub fn pump_platform(runtime: &mut Runtime) {
  let platform = v8::V8::get_current_platform();
  let isolate = runtime.isolate();
  while v8::Platform::pump_message_loop(&platform, isolate, false) {}
}

/// Runs at most `max_turns` turns of the runtime's event loop; stops early when nothing is
/// queued (a loop waiting only for ends held elsewhere, or done). Returns the turns that ran.
/// Timers are never waited for (the targets set none).
pub fn run_turns(runtime: &mut Runtime, max_turns: usize) -> usize {
  let mut turns = 0;
  while turns < max_turns {
    let poll = with_scope(runtime, run_tasks);
    turns += 1;
    pump_platform(runtime);
    if poll != Poll::Ready
      && !with_scope(runtime, |scope| v8_message_channel::has_pending_work(scope))
    {
      break;
    }
  }
  turns
}

/// Runs the loop until a turn finds nothing queued (at most `max_turns`): what the loop would
/// do next.
pub fn run_until_idle(runtime: &mut Runtime, max_turns: usize) -> Poll {
  let mut poll = Poll::Ready;
  for _ in 0..max_turns {
    poll = with_scope(runtime, run_tasks);
    pump_platform(runtime);
    if poll != Poll::Ready
      && !with_scope(runtime, |scope| v8_message_channel::has_pending_work(scope))
    {
      break;
    }
  }
  poll
}

/// The errors reported as uncaught since the last call, as text.
pub fn uncaught_errors(runtime: &mut Runtime) -> Vec<String> {
  with_scope(runtime, |scope| {
    take_uncaught_errors(scope)
      .into_iter()
      .map(|error| error.to_string())
      .collect()
  })
}

/// Extra coverage counters (libFuzzer reads the `__libfuzzer_extra_counters` section as more
/// edges): the targets set one per distinct thing JS observed, so inputs that make V8 (whose
/// prebuilt library is not instrumented) produce new shapes of values count as new coverage.
const EXTRA_COUNTERS: usize = 1 << 14;

#[used]
#[unsafe(link_section = "__libfuzzer_extra_counters")]
static mut EXTRA: [u8; EXTRA_COUNTERS] = [0; EXTRA_COUNTERS];

/// Counts one observation `feature` as coverage.
pub fn observe(feature: impl Hash) {
  let mut hasher = DefaultHasher::new();
  feature.hash(&mut hasher);
  let index = (hasher.finish() as usize) % EXTRA_COUNTERS;
  // SAFETY: the counters are only touched from the fuzzing thread, and libFuzzer reads them
  // between runs; a volatile byte write is what instrumented code does to its own counters.
  unsafe {
    let counter = (&raw mut EXTRA).cast::<u8>().add(index);
    counter.write_volatile(counter.read_volatile().wrapping_add(1));
  }
}
