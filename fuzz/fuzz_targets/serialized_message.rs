//! Bytes that arrive as a serialized message from another isolate.
//!
//! One runtime for the whole run holds one end of an entangled pair as the global `port`, with
//! `message` and `messageerror` listeners that count what they see and describe the value that
//! arrived. Each input is posted through the other end (held here in Rust) with
//! `Port::post_serialized_bytes`, as if another isolate's serializer had written it; the loop
//! then runs until nothing is queued. Asserted: nothing crashes, and each input yields exactly one
//! `message` or one `messageerror` event, with no uncaught error. What the listener saw of the
//! value (its types, nesting and kinds) feeds extra coverage counters, since V8's deserializer
//! is not instrumented.
//!
//! Reusing the runtime is safe: each input leaves nothing behind but garbage (the listener keeps
//! nothing of the value), and `FUZZ_SERIALIZED_CHECK_MEMORY=1` reports the heap every 10,000
//! inputs to show it does not grow.

#![no_main]

use fuzz_support::{new_runtime, observe, run_turns, uncaught_errors};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::rc::Rc;
use v8_message_channel::{Port, Runtime, entangled_pair};

/// The listeners: counts, and a description of each value that arrived (one feature a line).
const LISTENERS: &str = r#"
globalThis.fz = (() => {
  const state = { message: 0, messageerror: 0, features: [] };
  const objectToString = Object.prototype.toString;
  const tag = (value) => {
    switch (typeof value) {
      case "number":
        return Number.isInteger(value) ? (Object.is(value, -0) ? "-0" : "int")
          : Number.isNaN(value) ? "NaN" : Number.isFinite(value) ? "float" : "inf";
      case "string":
        return value.length === 0 ? "str0" : value.length < 16 ? "str" : "longstr";
      case "object":
        if (value === null) return "null";
        return objectToString.call(value) + (Object.isFrozen(value) ? "!" : "");
      default:
        return typeof value;
    }
  };
  // A bounded breadth-first walk: 256 values, 64 keys an object, cycles cut.
  const describe = (root) => {
    const seen = new Set();
    const queue = [[root, 0, "root", ""]];
    for (let n = 0; n < queue.length && n < 256; n++) {
      const [value, depth, parent, key] = queue[n];
      const kind = tag(value);
      state.features.push(`${Math.min(depth, 4)} ${parent} ${key} ${kind}`);
      if (value === null || typeof value !== "object") continue;
      if (seen.has(value)) {
        state.features.push(`cycle ${kind}`);
        continue;
      }
      seen.add(value);
      const push = (child, key) => queue.push([child, depth + 1, kind, key]);
      if (value instanceof Map) {
        let i = 0;
        for (const [k, v] of value) {
          if (i++ >= 64) break;
          push(k, "mapkey");
          push(v, "mapvalue");
        }
      } else if (value instanceof Set) {
        let i = 0;
        for (const v of value) {
          if (i++ >= 64) break;
          push(v, "setvalue");
        }
      } else if (ArrayBuffer.isView(value)) {
        state.features.push(`view ${kind} ${value.byteLength > 0} ${value.byteOffset > 0}`);
        push(value.buffer, "buffer");
      } else if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
        state.features.push(`buffer ${value.byteLength > 0} ${value.resizable ?? value.growable}`);
      } else if (value instanceof Error) {
        state.features.push(`error ${value.name} ${"cause" in value} ${typeof value.stack}`);
      } else {
        const keys = Object.keys(value);
        if (Array.isArray(value)) {
          state.features.push(`array ${keys.length === value.length} ${value.length > 0}`);
        }
        for (const k of keys.slice(0, 64)) push(value[k], /^\d+$/.test(k) ? "index" : "key");
      }
    }
  };
  port.addEventListener("message", (e) => {
    state.message++;
    try {
      describe(e.data);
    } catch (error) {
      state.features.push(`describe threw ${error}`);
    }
  });
  port.addEventListener("messageerror", (e) => {
    state.messageerror++;
    state.features.push(`messageerror ${tag(e.data)}`);
  });
  port.start();
  return {
    take() {
      const result = `${state.message} ${state.messageerror}\n${state.features.join("\n")}`;
      state.message = 0;
      state.messageerror = 0;
      state.features = [];
      return result;
    },
  };
})();
"#;

struct Harness {
  runtime: Runtime,
  /// The end posted through; its peer is the runtime's `port`.
  sender: Port,
  output: Rc<RefCell<String>>,
  runs: u64,
  check_memory: bool,
}

impl Harness {
  fn new() -> Self {
    let output = Rc::new(RefCell::new(String::new()));
    let mut runtime = new_runtime(output.clone());
    let (sender, receiver) = entangled_pair();
    runtime.define_port("port", receiver).expect("port defined");
    runtime
      .execute_script("listeners.js", LISTENERS)
      .expect("listeners installed");
    Harness {
      runtime,
      sender,
      output,
      runs: 0,
      check_memory: std::env::var_os("FUZZ_SERIALIZED_CHECK_MEMORY").is_some(),
    }
  }

  fn run(&mut self, bytes: &[u8]) {
    assert!(
      self.sender.post_serialized_bytes(bytes.to_vec()),
      "the pair is still entangled"
    );
    // One message task; a few more turns would show a second event if there were one.
    run_turns(&mut self.runtime, 16);
    let seen: String = self.runtime.eval("fz.take()").expect("fz.take() runs");
    let (counts, features) = seen.split_once('\n').unwrap_or((&seen, ""));
    let (message, messageerror) = counts.split_once(' ').expect("two counts");
    let errors = uncaught_errors(&mut self.runtime);
    assert!(
      errors.is_empty(),
      "uncaught errors: {errors:?}\noutput:\n{}",
      self.output.borrow()
    );
    match (message, messageerror) {
      ("1", "0") | ("0", "1") => {}
      _ => panic!(
        "expected exactly one message or messageerror event, got {message} message and \
         {messageerror} messageerror events\noutput:\n{}",
        self.output.borrow()
      ),
    }
    observe(("events", message, messageerror));
    for feature in features.lines() {
      observe(feature);
    }
    self.runs += 1;
    if self.check_memory && self.runs.is_multiple_of(10_000) {
      self.runtime.collect_garbage();
      let heap = self.runtime.isolate().get_heap_statistics();
      eprintln!(
        "serialized_message: {} runs, used heap {} KiB, {} live ports, {} queued",
        self.runs,
        heap.used_heap_size() / 1024,
        self.runtime.live_ports(),
        self.runtime.queued_messages()
      );
    }
  }
}

thread_local! {
  static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fuzz_target!(|bytes: &[u8]| {
  HARNESS.with(|harness| {
    harness
      .borrow_mut()
      .get_or_insert_with(Harness::new)
      .run(bytes)
  });
});
