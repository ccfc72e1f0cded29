//! Regression tests for what the fuzz targets in fuzz/ found.

use crate::setup::{block_on, runtime_from};
use v8_message_channel::{RuntimeOptions, entangled_pair};

/// Found while writing the `api_sequence` target, which runs two runtimes on the fuzzing
/// thread: rusty_v8 leaves a new isolate entered until it is dropped, and `Runtime` did not enter
/// its own around a call, so once a second runtime existed on a thread every call on the first
/// panicked ("HandleScope and Context do not belong to the same Isolate"), and dropping the
/// first before the second panicked too (OwnedIsolate's reverse-order check).
#[test]
fn two_runtimes_on_one_thread_take_turns() {
  let (left, right) = entangled_pair();
  let (mut first, _) = runtime_from(RuntimeOptions::default());
  let (mut second, captured) = runtime_from(RuntimeOptions::default());
  first.define_port("port", left).unwrap();
  second.define_port("port", right).unwrap();
  first
    .execute_script("first.js", "port.postMessage('from the first runtime');")
    .unwrap();
  second
    .execute_script(
      "second.js",
      "port.onmessage = (e) => { console.log(e.data); port.close(); };",
    )
    .unwrap();
  block_on(second.run_event_loop()).unwrap();
  block_on(first.run_event_loop()).unwrap();
  assert_eq!(captured.borrow().0, "from the first runtime\n");
  // In the order they were made, not the reverse.
  drop(first);
  drop(second);
}
