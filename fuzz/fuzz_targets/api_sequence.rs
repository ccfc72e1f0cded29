//! Sequences of MessagePort operations on two runtimes, checked against a model.
//!
//! The input decodes (with `arbitrary`) into a list of operations: make channels (in runtime A
//! or B) and cross-runtime pairs (`entangled_pair`, one end adopted by each runtime); post
//! values of random shapes (numbers, strings, nested objects and arrays, holes, Maps, Sets,
//! ArrayBuffers up to 1 MiB, typed arrays and views, errors, cycles, shared references, getters,
//! unclonable values) with transfer lists of ports and buffers, valid or not, and getters that
//! throw, close a port, post, or post a port away while the serializer runs; move a port to the
//! other runtime; `structuredClone` ports; `start`, `close`, set and clear `onmessage`, remove
//! the message listener; make a listener forward the next messages it gets, or close its port
//! when one comes; drop a port's last reference; collect garbage; run a few turns of either
//! loop.
//!
//! Each operation is a line of JS run in its runtime; the model in Rust predicts whether it
//! throws and follows every end of every pair: where it is (held by which JS object of which
//! runtime, in transit inside which message, closed), its queue of messages in order, whether the
//! pair is still entangled. Every listener logs what it received; after the operations every
//! port still held is started and both loops run until nothing is left, and then:
//!
//! - each delivery is of a message posted to that end, in the order posted, at most once, never
//!   after the end was closed, with the value the model expects (a description of the shape,
//!   compared with one the receiver computes), and carrying the ports it was posted with;
//! - every message that must arrive did: posted to an end that was never closed, never left
//!   without its `message` listener and never at risk of collection (dropped while not started,
//!   or while its peer moved), and whose pair was entangled when it was posted;
//! - `postMessage` and `structuredClone` throw exactly when HTML says (bad transfer lists,
//!   unclonable values, a getter that throws or closes a port being transferred), and nothing is
//!   detached when they do; transferred buffers are detached when they do not;
//! - no JS object gets two `close` events; a port that listens for `close` and was neither
//!   moved nor dropped gets exactly one when its pair is closed by `close()`; a started port
//!   gets the messages its peer posted before closing before its `close` event;
//! - no error is reported as uncaught, nothing panics or crashes, and once every port is closed
//!   both loops run dry and `Runtime::run_event_loop` ends.
//!
//! The two runtimes live for the whole run (a runtime takes milliseconds to make); each input
//! starts from fresh JS state, and ends by closing every port it made and running both loops
//! dry (when ports it dropped wait for each other across the runtimes, garbage neither runtime
//! can collect, the runtimes are replaced instead). `FUZZ_API_FRESH=1` makes new runtimes for
//! every input instead (to check that a failure does not depend on earlier inputs),
//! `FUZZ_API_TRACE=1` prints each JS line as it runs, `FUZZ_API_CHECK_MEMORY=1` prints what the
//! runtimes hold every 1,000 inputs, and `FUZZ_API_STATS=1` prints what each input did
//! (operations, posts and why they threw, deliveries): `cargo fuzz run api_sequence
//! fuzz/corpus/api_sequence -- -runs=0` with it shows
//! what the corpus exercises.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use fuzz_support::{new_runtime, observe, run_turns, run_until_idle, uncaught_errors};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::rc::Rc;
use v8_message_channel::{Poll, Runtime, entangled_pair};

const MAX_OPS: usize = 48;
/// Messages a listener forwards are numbered by JS from these (the model's own numbers stay
/// below).
const FORWARDED_A: u32 = 1_000_000;
const FORWARDED_B: u32 = 2_000_000;
const MAX_ENDS: usize = 24;
/// Turns of a loop that count as "until nothing is left" (listeners post at most a few
/// forwarded messages, so a loop runs dry in a few turns).
const DRY: usize = 1000;

// ---------------------------------------------------------------------------------------------
// The input.

/// A value to post, as a shape: the JS that builds it and what the receiver must see.
#[derive(Debug, Clone)]
enum Shape {
  Undefined,
  Null,
  Bool(bool),
  Int(i32),
  /// NaN, -0, Infinity, -Infinity, 0.5, 1e300, 2 ** 53.
  Special(u8),
  BigInt(i64),
  Str(String),
  Date(i32),
  RegExp(u8),
  Array(Vec<Shape>),
  /// `length` with elements at some indices, holes elsewhere.
  Holey(u8, Vec<(u8, Shape)>),
  Object(Vec<Shape>),
  Map(Vec<(Key, Shape)>),
  Set(Vec<Key>),
  /// An ArrayBuffer of this length class (see `buffer_len`); transferred when the flag is set.
  Buffer(u8, bool),
  /// `new Uint8Array(buffer, offset, count)` on a buffer of this length class.
  View(u8, u32, u8),
  /// A typed array: kind and length.
  Typed(u8, u8),
  Boxed(i32),
  Error(u8, String),
  /// `{ get k0() { return value } }`: the copy gives up and the serializer runs the getter.
  Getter(Box<Shape>),
  /// `{ k0: value, self: <itself> }`.
  Cycle(Box<Shape>),
  /// `[x, x]`: one value referenced twice.
  Twice(Box<Shape>),
  /// A function or a symbol: postMessage throws a DataCloneError.
  Unclonable(u8),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
  Int(i8),
  Str(String),
}

const SPECIALS: [(&str, &str); 7] = [
  ("NaN", "NaN"),
  ("-0", "-0"),
  ("Infinity", "Infinity"),
  ("-Infinity", "-Infinity"),
  ("0.5", "0.5"),
  ("1e300", "1e+300"),
  ("2 ** 53", "9007199254740992"),
];
const REGEXPS: [&str; 4] = ["/a/", "/a+b/gi", r"/[\u{1F600}]/u", "/x/dgimsy"];
const TYPED: [&str; 5] = [
  "Uint8Array",
  "Int16Array",
  "Float64Array",
  "BigInt64Array",
  "Uint8ClampedArray",
];
const ERRORS: [&str; 3] = ["Error", "TypeError", "RangeError"];
const CHARS: [char; 12] = [
  'a', 'b', 'Z', '0', ' ', '"', '\\', '\n', 'é', '😀', '\u{2028}', '\u{0}',
];

fn string(u: &mut Unstructured) -> Result<String> {
  let len = u.int_in_range(0..=6)?;
  (0..len).map(|_| u.choose(&CHARS).copied()).collect()
}

fn key(u: &mut Unstructured) -> Result<Key> {
  Ok(if u.arbitrary()? {
    Key::Int(u.arbitrary()?)
  } else {
    Key::Str(string(u)?)
  })
}

fn shape(u: &mut Unstructured, depth: u32) -> Result<Shape> {
  let last = if depth >= 3 { 13 } else { 22 };
  Ok(match u.int_in_range(0..=last)? {
    0 => Shape::Undefined,
    1 => Shape::Null,
    2 => Shape::Bool(u.arbitrary()?),
    3 => Shape::Int(u.arbitrary()?),
    4 => Shape::Special(u.int_in_range(0..=6)?),
    5 => Shape::BigInt(u.arbitrary()?),
    6 => Shape::Str(string(u)?),
    7 => Shape::Date(u.arbitrary()?),
    8 => Shape::RegExp(u.int_in_range(0..=3)?),
    9 => Shape::Buffer(buffer_class(u)?, u.arbitrary()?),
    10 => Shape::Typed(u.int_in_range(0..=4)?, u.int_in_range(0..=6)?),
    11 => {
      if u.arbitrary()? {
        Shape::Boxed(u.arbitrary()?)
      } else {
        let class = buffer_class(u)?;
        let len = buffer_len(class) as u32;
        let offset = if len == 0 {
          0
        } else {
          u.int_in_range(0..=len - 1)?
        };
        let count = u.int_in_range(0..=8u32.min(len - offset))? as u8;
        Shape::View(class, offset, count)
      }
    }
    12 => Shape::Error(u.int_in_range(0..=2)?, string(u)?),
    13 => {
      if u.ratio(1u8, 4u8)? {
        Shape::Unclonable(u.int_in_range(0..=1)?)
      } else {
        Shape::Int(0)
      }
    }
    14 | 22 => Shape::Object(list(u, depth, 4)?),
    15 => Shape::Array(list(u, depth, 4)?),
    16 => {
      let len = u.int_in_range(0..=12)?;
      let count = u.int_in_range(0..=3)?;
      let mut at = Vec::new();
      for _ in 0..count {
        if len > 0 {
          at.push((u.int_in_range(0..=len - 1)?, shape(u, depth + 1)?));
        }
      }
      Shape::Holey(len, at)
    }
    17 => {
      let count = u.int_in_range(0..=3)?;
      let mut entries = Vec::new();
      for _ in 0..count {
        entries.push((key(u)?, shape(u, depth + 1)?));
      }
      Shape::Map(entries)
    }
    18 => {
      let count = u.int_in_range(0..=4)?;
      Shape::Set((0..count).map(|_| key(u)).collect::<Result<_>>()?)
    }
    19 => Shape::Getter(Box::new(shape(u, depth + 1)?)),
    20 => Shape::Cycle(Box::new(shape(u, depth + 1)?)),
    _ => Shape::Twice(Box::new(shape(u, depth + 1)?)),
  })
}

/// Mostly small buffers; one in eight around the allocator's threshold for mapped blocks
/// (256 KiB) or of 1 MiB.
fn buffer_class(u: &mut Unstructured) -> Result<u8> {
  if u.ratio(1u8, 8u8)? {
    u.int_in_range(17..=20)
  } else {
    u.int_in_range(0..=16)
  }
}

fn buffer_len(class: u8) -> usize {
  match class {
    0..=16 => class as usize,
    17 => (256 << 10) - 1,
    18 => 256 << 10,
    19 => (256 << 10) + 4097,
    _ => 1 << 20,
  }
}

fn list(u: &mut Unstructured, depth: u32, max: u32) -> Result<Vec<Shape>> {
  let count = u.int_in_range(0..=max)?;
  (0..count).map(|_| shape(u, depth + 1)).collect()
}

#[derive(Debug, Clone)]
struct Value(Shape);

impl<'a> Arbitrary<'a> for Value {
  fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
    Ok(Value(shape(u, 0)?))
  }
}

/// An entry of a transfer list besides the buffers the value holds (which are listed after).
#[derive(Debug, Clone)]
enum Item {
  Port(u8),
  /// The previous entry again.
  Dup,
  /// An ArrayBuffer already detached.
  Detached,
  /// `{}`: not transferable.
  Plain,
}

/// Mostly ports: a list with anything else in it throws.
impl<'a> Arbitrary<'a> for Item {
  fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
    Ok(match u.int_in_range(0..=15)? {
      13 => Item::Dup,
      14 => Item::Detached,
      15 => Item::Plain,
      _ => Item::Port(u.arbitrary()?),
    })
  }
}

/// What a getter on the message runs while the serializer reads it.
#[derive(Arbitrary, Debug, Clone)]
enum Effect {
  Throw,
  Close(u8),
  Post(u8),
  /// Posts a message from the first port that transfers the second.
  Transfer(u8, u8),
}

/// A getter on one message in six or so.
#[derive(Debug, Clone)]
struct MaybeEffect(Option<Effect>);

impl<'a> Arbitrary<'a> for MaybeEffect {
  fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
    // A run of zeros makes no getter.
    Ok(MaybeEffect(if u.ratio(5u8, 6u8)? {
      None
    } else {
      Some(u.arbitrary()?)
    }))
  }
}

#[derive(Debug, Clone)]
enum Op {
  Channel {
    in_b: bool,
    close_listeners: u8,
  },
  Pair {
    close_listeners: u8,
  },
  Post {
    from: u8,
    value: Value,
    transfer: Vec<Item>,
    effect: MaybeEffect,
  },
  Move {
    port: u8,
    value: Value,
  },
  Clone {
    ports: Vec<u8>,
    extra: u8,
  },
  Start {
    port: u8,
  },
  Close {
    port: u8,
  },
  SetOnMessage {
    port: u8,
  },
  ClearOnMessage {
    port: u8,
  },
  Unlisten {
    port: u8,
  },
  Drop {
    port: u8,
  },
  /// The port's listener posts a message back (to its peer) for the next `count % 3 + 1`
  /// messages it receives.
  Forward {
    port: u8,
    count: u8,
  },
  /// The port's listener closes it when the next message comes.
  CloseOnMessage {
    port: u8,
  },
  Gc {
    in_b: bool,
  },
  Run {
    which: u8,
    turns: u8,
  },
}

/// Posts weigh most: they are what the model checks. Runs of 0x00 and 0xff (which mutations
/// make often) decode as posts too.
impl<'a> Arbitrary<'a> for Op {
  fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
    let byte: u8 = u.arbitrary()?;
    let kind = match byte {
      0 | 0xff => 12,
      _ => u32::from(byte) * 100 / 256,
    };
    Ok(match kind {
      0..=7 => Op::Channel {
        in_b: u.arbitrary()?,
        close_listeners: u.arbitrary()?,
      },
      8..=11 => Op::Pair {
        close_listeners: u.arbitrary()?,
      },
      12..=41 => Op::Post {
        from: u.arbitrary()?,
        value: u.arbitrary()?,
        transfer: u.arbitrary()?,
        effect: u.arbitrary()?,
      },
      42..=49 => Op::Move {
        port: u.arbitrary()?,
        value: u.arbitrary()?,
      },
      50..=53 => Op::Clone {
        ports: u.arbitrary()?,
        extra: u.arbitrary()?,
      },
      54..=58 => Op::Start {
        port: u.arbitrary()?,
      },
      59..=63 => Op::Close {
        port: u.arbitrary()?,
      },
      64..=67 => Op::SetOnMessage {
        port: u.arbitrary()?,
      },
      68..=69 => Op::ClearOnMessage {
        port: u.arbitrary()?,
      },
      70..=71 => Op::Unlisten {
        port: u.arbitrary()?,
      },
      72..=75 => Op::Drop {
        port: u.arbitrary()?,
      },
      76..=79 => Op::Forward {
        port: u.arbitrary()?,
        count: u.arbitrary()?,
      },
      80..=82 => Op::CloseOnMessage {
        port: u.arbitrary()?,
      },
      83..=85 => Op::Gc {
        in_b: u.arbitrary()?,
      },
      _ => Op::Run {
        which: u.arbitrary()?,
        turns: u.arbitrary()?,
      },
    })
  }
}

fn decode(data: &[u8]) -> Vec<Op> {
  let mut u = Unstructured::new(data);
  let mut ops = Vec::new();
  while !u.is_empty() && ops.len() < MAX_OPS {
    match Op::arbitrary(&mut u) {
      Ok(op) => ops.push(op),
      Err(_) => break,
    }
  }
  ops
}

// ---------------------------------------------------------------------------------------------
// Values: the JS that builds a shape, and the description the receiver must compute of it.

/// Builds JS for shapes; buffers to transfer are declared before the value (`b0`, `b1`...).
#[derive(Default)]
struct Emitter {
  decls: String,
  buffers: Vec<String>,
}

fn js_string(s: &str) -> String {
  serde_json::to_string(s).expect("a string serializes")
}

fn key_js(key: &Key) -> String {
  match key {
    Key::Int(i) => i.to_string(),
    Key::Str(s) => js_string(s),
  }
}

fn key_desc(key: &Key) -> String {
  match key {
    Key::Int(i) => format!("N{i}"),
    Key::Str(s) => format!("S{}", js_string(s)),
  }
}

/// Map entries as `new Map` keeps them: the first position of a key, its last value.
fn map_entries(entries: &[(Key, Shape)]) -> Vec<(Key, Shape)> {
  let mut out: Vec<(Key, Shape)> = Vec::new();
  for (k, v) in entries {
    match out.iter_mut().find(|(seen, _)| seen == k) {
      Some(entry) => entry.1 = v.clone(),
      None => out.push((k.clone(), v.clone())),
    }
  }
  out
}

fn set_keys(keys: &[Key]) -> Vec<Key> {
  let mut out: Vec<Key> = Vec::new();
  for k in keys {
    if !out.contains(k) {
      out.push(k.clone());
    }
  }
  out
}

/// The elements of a holey array, by index, the last assignment of an index winning.
fn holey_elements(at: &[(u8, Shape)]) -> Vec<(u8, Shape)> {
  let mut out: Vec<(u8, Shape)> = Vec::new();
  for (i, v) in at {
    out.retain(|(j, _)| j != i);
    out.push((*i, v.clone()));
  }
  out.sort_by_key(|(i, _)| *i);
  out
}

/// What `fz.buffer(len)` writes: byte `i` is `(i * 37 + 11) & 255`.
fn buffer_byte(i: usize) -> u64 {
  ((i * 37 + 11) & 255) as u64
}

/// The description of a buffer: its length and the sum of `(i + 1) * byte[i]`.
fn buffer_desc(len: usize) -> String {
  let sum: u64 = (0..len).map(|i| (i as u64 + 1) * buffer_byte(i)).sum();
  format!("A{len}:{sum}")
}

const TYPED_SIZES: [usize; 5] = [1, 2, 8, 8, 1];

fn join<T>(items: impl IntoIterator<Item = T>, sep: &str, f: impl FnMut(T) -> String) -> String {
  items.into_iter().map(f).collect::<Vec<_>>().join(sep)
}

impl Emitter {
  fn js(&mut self, shape: &Shape) -> String {
    match shape {
      Shape::Undefined => "undefined".into(),
      Shape::Null => "null".into(),
      Shape::Bool(b) => b.to_string(),
      Shape::Int(i) => format!("({i})"),
      Shape::Special(i) => format!("({})", SPECIALS[*i as usize].0),
      Shape::BigInt(i) => format!("({i}n)"),
      Shape::Str(s) => js_string(s),
      Shape::Date(t) => format!("new Date({t})"),
      Shape::RegExp(i) => REGEXPS[*i as usize].into(),
      Shape::Array(items) => format!("[{}]", join(items, ", ", |s| self.js(s))),
      Shape::Holey(len, at) => {
        let mut js = format!("(() => {{ const a = []; a.length = {len}; ");
        for (i, v) in holey_elements(at) {
          let _ = write!(js, "a[{i}] = {}; ", self.js(&v));
        }
        js.push_str("return a; })()");
        js
      }
      Shape::Object(fields) => {
        let fields = join(fields.iter().enumerate(), ", ", |(i, s)| {
          format!("k{i}: {}", self.js(s))
        });
        format!("({{ {fields} }})")
      }
      Shape::Map(entries) => {
        let entries = join(map_entries(entries), ", ", |(k, v)| {
          format!("[{}, {}]", key_js(&k), self.js(&v))
        });
        format!("new Map([{entries}])")
      }
      Shape::Set(keys) => format!("new Set([{}])", join(set_keys(keys), ", ", |k| key_js(&k))),
      Shape::Buffer(class, transfer) => {
        let js = format!("fz.buffer({})", buffer_len(*class));
        if *transfer {
          let name = format!("b{}", self.buffers.len());
          let _ = write!(self.decls, "const {name} = {js}; ");
          self.buffers.push(name.clone());
          name
        } else {
          js
        }
      }
      Shape::Typed(kind, len) => {
        let big = *kind == 3;
        let items = join(0..*len, ", ", |i| {
          if big { format!("{i}n") } else { i.to_string() }
        });
        format!("new {}([{items}])", TYPED[*kind as usize])
      }
      Shape::View(class, offset, count) => format!(
        "new Uint8Array(fz.buffer({}), {offset}, {count})",
        buffer_len(*class)
      ),
      Shape::Boxed(i) => format!("new Number({i})"),
      Shape::Error(kind, message) => {
        format!("new {}({})", ERRORS[*kind as usize], js_string(message))
      }
      Shape::Getter(inner) => format!("({{ get k0() {{ return {}; }} }})", self.js(inner)),
      Shape::Cycle(inner) => format!(
        "(() => {{ const o = {{ k0: {} }}; o.self = o; return o; }})()",
        self.js(inner)
      ),
      Shape::Twice(inner) => format!(
        "(() => {{ const x = {}; return [x, x]; }})()",
        self.js(inner)
      ),
      Shape::Unclonable(0) => "(() => {})".into(),
      Shape::Unclonable(_) => "Symbol(\"s\")".into(),
    }
  }
}

/// Whether the receiver sees this shape as an object (which gets a number in the description,
/// for later references to it).
fn is_object(shape: &Shape) -> bool {
  !matches!(
    shape,
    Shape::Undefined
      | Shape::Null
      | Shape::Bool(_)
      | Shape::Int(_)
      | Shape::Special(_)
      | Shape::BigInt(_)
      | Shape::Str(_)
      | Shape::Unclonable(_)
  )
}

fn unclonable(shape: &Shape) -> bool {
  match shape {
    Shape::Unclonable(_) => true,
    Shape::Array(items) | Shape::Object(items) => items.iter().any(unclonable),
    Shape::Holey(_, at) => holey_elements(at).iter().any(|(_, v)| unclonable(v)),
    Shape::Map(entries) => map_entries(entries).iter().any(|(_, v)| unclonable(v)),
    Shape::Getter(inner) | Shape::Cycle(inner) | Shape::Twice(inner) => unclonable(inner),
    _ => false,
  }
}

/// What `describe` in JS (see PRELUDE) computes of the received value. `count` numbers the
/// objects in the order they are first met.
fn describe(shape: &Shape, count: &mut u32) -> String {
  if is_object(shape) {
    *count += 1;
  }
  let me = *count - u32::from(is_object(shape));
  match shape {
    Shape::Undefined => "u".into(),
    Shape::Null => "n".into(),
    Shape::Bool(b) => if *b { "T" } else { "F" }.into(),
    Shape::Int(i) => format!("N{i}"),
    Shape::Special(i) => format!("N{}", SPECIALS[*i as usize].1),
    Shape::BigInt(i) => format!("B{i}"),
    Shape::Str(s) => format!("S{}", js_string(s)),
    Shape::Date(t) => format!("D{t}"),
    Shape::RegExp(i) => format!("R{}", REGEXPS[*i as usize]),
    Shape::Array(items) => format!("[{}]", join(items, ",", |s| describe(s, count))),
    Shape::Holey(len, at) => {
      let elements = holey_elements(at);
      let parts = join(0..*len, ",", |i| {
        match elements.iter().find(|(j, _)| *j == i) {
          Some((_, v)) => describe(v, count),
          None => "_".into(),
        }
      });
      format!("[{parts}]")
    }
    Shape::Object(fields) => format!(
      "{{{}}}",
      join(fields.iter().enumerate(), ",", |(i, s)| format!(
        "k{i}:{}",
        describe(s, count)
      ))
    ),
    Shape::Map(entries) => format!(
      "M{{{}}}",
      join(map_entries(entries), ",", |(k, v)| format!(
        "{}=>{}",
        key_desc(&k),
        describe(&v, count)
      ))
    ),
    Shape::Set(keys) => format!("Z{{{}}}", join(set_keys(keys), ",", |k| key_desc(&k))),
    Shape::Buffer(class, _) => buffer_desc(buffer_len(*class)),
    Shape::Typed(kind, len) => format!(
      "Y{}@0/{}:{}",
      TYPED[*kind as usize],
      *len as usize * TYPED_SIZES[*kind as usize],
      join(0..*len, ".", |i| i.to_string())
    ),
    Shape::View(class, offset, count) => format!(
      "YUint8Array@{offset}/{}:{}",
      buffer_len(*class),
      join(0..*count as usize, ".", |i| buffer_byte(
        *offset as usize + i
      )
      .to_string())
    ),
    Shape::Boxed(i) => format!("#{i}"),
    Shape::Error(kind, message) => format!("E{}:{message}", ERRORS[*kind as usize]),
    Shape::Getter(inner) => format!("{{k0:{}}}", describe(inner, count)),
    Shape::Cycle(inner) => format!("{{k0:{},self:@{me}}}", describe(inner, count)),
    Shape::Twice(inner) => {
      let first_number = *count;
      let first = describe(inner, count);
      let second = if is_object(inner) {
        format!("@{first_number}")
      } else {
        first.clone()
      };
      format!("[{first},{second}]")
    }
    Shape::Unclonable(_) => "?".into(),
  }
}

// ---------------------------------------------------------------------------------------------
// JS: the helpers each runtime has, and the per-input state they keep.

const PRELUDE: &str = r##"
globalThis.fz = (() => {
  let T = null;
  const objectToString = Object.prototype.toString;
  const isPort = (x) => x instanceof MessagePort;

  function describe(root) {
    const seen = new Map();
    const d = (v) => {
      switch (typeof v) {
        case "undefined": return "u";
        case "boolean": return v ? "T" : "F";
        case "number": return "N" + (Object.is(v, -0) ? "-0" : String(v));
        case "bigint": return "B" + v;
        case "string": return "S" + JSON.stringify(v);
        case "object": break;
        default: return "?" + typeof v;
      }
      if (v === null) return "n";
      if (seen.has(v)) return "@" + seen.get(v);
      seen.set(v, seen.size);
      const tag = objectToString.call(v);
      switch (tag) {
        case "[object Array]": {
          const parts = [];
          for (let i = 0; i < v.length; i++) parts.push(i in v ? d(v[i]) : "_");
          return "[" + parts.join(",") + "]";
        }
        case "[object Date]": return "D" + v.getTime();
        case "[object RegExp]": return "R" + String(v);
        case "[object Map]": return "M{" + Array.from(v, ([k, x]) => d(k) + "=>" + d(x)).join(",") + "}";
        case "[object Set]": return "Z{" + Array.from(v, (x) => d(x)).join(",") + "}";
        case "[object ArrayBuffer]": {
          const bytes = new Uint8Array(v);
          let sum = 0;
          for (let i = 0; i < bytes.length; i++) sum += (i + 1) * bytes[i];
          return "A" + bytes.length + ":" + sum;
        }
        case "[object Number]": return "#" + v.valueOf();
        case "[object Error]": return "E" + v.name + ":" + v.message;
        case "[object Object]":
          return "{" + Object.keys(v).map((k) => k + ":" + d(v[k])).join(",") + "}";
        default:
          if (ArrayBuffer.isView(v)) {
            return "Y" + v.constructor.name + "@" + v.byteOffset + "/" + v.buffer.byteLength + ":" +
              Array.from(v).join(".");
          }
          return "?" + tag;
      }
    };
    return d(root);
  }

  // A port object of this input: its handle is its index in t.H.
  function setup(t, port, id, closeFlag) {
    const h = t.H.length;
    t.H.push(port);
    t.ids.push(id);
    t.flags.push(closeFlag);
    const listener = (e) => record(t, id, h, e);
    t.listeners.push(listener);
    port.addEventListener("message", listener);
    if (closeFlag) {
      port.addEventListener("close", () => {
        if (t === T) t.ev.push(["c", id, h]);
      });
    }
    if (t.settling) port.start();
    return h;
  }

  function record(t, id, h, e) {
    if (t !== T || t.seen.has(e)) return;
    t.seen.add(e);
    const data = e.data;
    let desc;
    try {
      desc = describe(data.v);
    } catch (error) {
      desc = "describe threw " + error;
    }
    t.ev.push(["m", id, h, data.s, desc]);
    if (!Object.isFrozen(e.ports)) t.bad.push(`message ${data.s}: event.ports is not frozen`);
    if (e.ports.length !== data.p.length) {
      t.bad.push(`message ${data.s}: ${e.ports.length} ports in event.ports, ${data.p.length} in the data`);
    }
    for (let i = 0; i < data.p.length; i++) {
      if (e.ports[i] !== data.p[i]) t.bad.push(`message ${data.s}: event.ports[${i}] is not data.p[${i}]`);
      if (!isPort(data.p[i])) {
        t.bad.push(`message ${data.s}: data.p[${i}] is not a MessagePort`);
        continue;
      }
      t.ev.push(["a", data.t[i], setup(t, data.p[i], data.t[i], data.c[i])]);
    }
    if (t.forward[h] > 0) {
      t.forward[h]--;
      const s = t.base + t.forwarded++;
      t.ev.push(["f", id, h, s]);
      e.target.postMessage({ s, t: [], c: [], p: [], v: "fwd" });
    }
    if (t.closeOn[h]) {
      t.closeOn[h] = false;
      t.ev.push(["x", id, h]);
      e.target.close();
    }
  }

  const effects = [
    null,
    () => { throw new Error("the getter throws"); },
    (t, h) => { t.H[h].close(); },
    (t, h, seq) => { t.H[h].postMessage({ s: seq, t: [], c: [], p: [], v: 0 }); },
    (t, [via, x], seq) => {
      const port = t.H[x];
      t.H[via].postMessage({ s: seq, t: [t.ids[x]], c: [t.flags[x]], p: [port], v: 0 }, [port]);
    },
  ];

  return {
    begin(base) {
      T = {
        H: [], ids: [], flags: [], listeners: [], forward: [], closeOn: [], ev: [], bad: [],
        seen: new WeakSet(), settling: false, base, forwarded: 0,
      };
      return "";
    },
    channel(id1, c1, id2, c2) {
      const { port1, port2 } = new MessageChannel();
      return [setup(T, port1, id1, c1), setup(T, port2, id2, c2)].join(" ");
    },
    adopt(id, c) {
      const port = globalThis.__adopted;
      delete globalThis.__adopted;
      return String(setup(T, port, id, c));
    },
    buffer(len) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = (i * 37 + 11) & 255;
      return bytes.buffer;
    },
    detached() {
      const buffer = new ArrayBuffer(1);
      structuredClone(buffer, { transfer: [buffer] });
      return buffer;
    },
    port(h) {
      return T.H[h];
    },
    post(h, seq, transfer, v, buffers, effect, arg, innerSeq) {
      const t = T;
      const ports = [], ids = [], flags = [];
      for (const x of transfer) {
        if (isPort(x) && !ports.includes(x)) {
          const xh = t.H.indexOf(x);
          ports.push(x);
          ids.push(t.ids[xh]);
          flags.push(t.flags[xh]);
        }
      }
      const data = { s: seq, t: ids, c: flags, p: ports, v };
      if (effect) {
        const run = effects[effect];
        Object.defineProperty(data, "g", {
          enumerable: true,
          get() {
            run(t, arg, innerSeq);
            return 0;
          },
        });
      }
      try {
        t.H[h].postMessage(data, transfer);
      } catch (error) {
        for (const b of buffers) {
          if (b.detached) t.bad.push(`message ${seq}: a buffer was detached although postMessage threw`);
        }
        return "throw " + error.name + ": " + error.message;
      }
      for (const b of buffers) {
        if (!b.detached) t.bad.push(`message ${seq}: a transferred buffer is not detached`);
      }
      return "ok";
    },
    clone(hs, extra) {
      const t = T;
      const ports = hs.map((h) => t.H[h]);
      const transfer = [...ports];
      if (extra === 1 && ports.length > 0) transfer.push(ports[0]);
      if (extra === 2) transfer.push(this.detached());
      let out;
      try {
        out = structuredClone({ p: ports }, { transfer });
      } catch (error) {
        return "throw " + error.name + ": " + error.message;
      }
      return ["ok", ...out.p.map((p, i) => setup(t, p, t.ids[hs[i]], t.flags[hs[i]]))].join(" ");
    },
    start(h) { T.H[h].start(); return ""; },
    close(h) { T.H[h].close(); return ""; },
    setOnMessage(h) {
      const t = T, id = t.ids[h];
      t.H[h].onmessage = (e) => record(t, id, h, e);
      return "";
    },
    clearOnMessage(h) { T.H[h].onmessage = null; return ""; },
    unlisten(h) { T.H[h].removeEventListener("message", T.listeners[h]); return ""; },
    drop(h) { T.H[h] = null; return ""; },
    forward(h, count) { T.forward[h] = count; return ""; },
    closeOnMessage(h) { T.closeOn[h] = true; return ""; },
    settle() {
      T.settling = true;
      for (const port of T.H) if (port) port.start();
      return "";
    },
    sync() {
      const out = JSON.stringify({ ev: T.ev, bad: T.bad });
      T.ev = [];
      T.bad = [];
      return out;
    },
    end() {
      const t = T;
      T = null;
      if (t) for (const port of t.H) if (port) port.close();
      return "";
    },
  };
})();
"##;

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
  /// Held by this handle (a JS object in `handles`).
  Home(usize),
  /// Inside this message, in some queue (or being posted).
  Transit(u32),
  Closed,
  /// Inside a message that may have been delivered to no listener: nobody knows.
  Limbo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entangled {
  Yes,
  No,
  /// An end may have been collected (and so closed).
  Maybe,
}

#[derive(Debug)]
struct End {
  pair: usize,
  place: Place,
  started: bool,
  /// Every message it is sent is observed: it never lost its listener, was never at risk of
  /// collection, never in limbo.
  exact: bool,
  close_flag: bool,
  /// Its handle was dropped (no JS reference is left) while it was safe: started, listening,
  /// its peer held. It stays exact while the peer stays put.
  dropped: bool,
  /// Its peer closed while it was held and started: the messages its peer posted before come
  /// before its `close` event.
  started_at_close: bool,
  /// Messages queued to it, oldest first.
  queue: VecDeque<u32>,
}

#[derive(Debug)]
struct Handle {
  rt: usize,
  end: usize,
  /// The JS object stands for the end (not transferred away or closed).
  live: bool,
  /// The JS reference was dropped.
  dropped: bool,
  /// It was transferred away.
  transferred: bool,
  /// Its object must get exactly one `close` event (see `close_pair`).
  close_expected: bool,
  closes: u32,
}

#[derive(Debug)]
struct Msg {
  to: usize,
  carried: Vec<usize>,
  desc: String,
  /// It must arrive if its receiver stays exact.
  certain: bool,
  delivered: bool,
}

struct Model {
  ends: Vec<End>,
  pairs: Vec<([usize; 2], Entangled)>,
  handles: Vec<Handle>,
  /// Handles of each runtime, by the index JS gives them.
  by_rt: [Vec<usize>; 2],
  msgs: Vec<Msg>,
  /// The model's numbers of messages JS numbered (forwarded by listeners).
  alias: std::collections::HashMap<u32, u32>,
  settling: bool,
  violations: Vec<String>,
  /// Posts tried, and why they threw (for `FUZZ_API_STATS`): transfer list, value, getter.
  tried: [u32; 4],
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
  Ok,
  Throws,
}

impl Model {
  fn new() -> Self {
    Model {
      ends: Vec::new(),
      pairs: Vec::new(),
      handles: Vec::new(),
      by_rt: [Vec::new(), Vec::new()],
      msgs: Vec::new(),
      alias: std::collections::HashMap::new(),
      settling: false,
      violations: Vec::new(),
      tried: [0; 4],
    }
  }

  fn peer(&self, end: usize) -> usize {
    let (ends, _) = self.pairs[self.ends[end].pair];
    if ends[0] == end { ends[1] } else { ends[0] }
  }

  fn entangled(&self, end: usize) -> Entangled {
    self.pairs[self.ends[end].pair].1
  }

  fn new_pair(&mut self) -> (usize, usize) {
    let pair = self.pairs.len();
    let a = self.ends.len();
    for _ in 0..2 {
      self.ends.push(End {
        pair,
        place: Place::Closed,
        started: false,
        exact: true,
        close_flag: false,
        dropped: false,
        started_at_close: false,
        queue: VecDeque::new(),
      });
    }
    self.pairs.push(([a, a + 1], Entangled::Yes));
    (a, a + 1)
  }

  /// A JS object for `end` in `rt` (made, adopted or arrived): the next handle index there.
  fn new_handle(&mut self, rt: usize, end: usize) -> usize {
    let handle = self.handles.len();
    self.handles.push(Handle {
      rt,
      end,
      live: true,
      dropped: false,
      transferred: false,
      close_expected: false,
      closes: 0,
    });
    self.by_rt[rt].push(handle);
    self.ends[end].place = Place::Home(handle);
    self.ends[end].started = self.settling;
    handle
  }

  /// Handles that JS still references, in a runtime or in both.
  fn usable(&self, rt: Option<usize>) -> Vec<usize> {
    (0..self.handles.len())
      .filter(|&h| !self.handles[h].dropped && rt.is_none_or(|rt| self.handles[h].rt == rt))
      .collect()
  }

  fn pick(&self, selector: u8, rt: Option<usize>) -> Option<usize> {
    let usable = self.usable(rt);
    (!usable.is_empty()).then(|| usable[selector as usize % usable.len()])
  }

  /// Its messages may go unobserved: the ports they carry may arrive unobserved, as garbage.
  fn make_inexact(&mut self, end: usize) {
    if !self.ends[end].exact {
      return;
    }
    self.ends[end].exact = false;
    let carried: Vec<usize> = self.ends[end]
      .queue
      .iter()
      .flat_map(|&seq| self.msgs[seq as usize].carried.clone())
      .collect();
    for c in carried {
      self.make_maybe_dead(c);
    }
  }

  /// It may be collected (and its pair disentangled) at any time.
  fn make_maybe_dead(&mut self, end: usize) {
    self.make_inexact(end);
    let pair = self.ends[end].pair;
    if self.pairs[pair].1 == Entangled::Yes {
      self.pairs[pair].1 = Entangled::Maybe;
    }
  }

  /// Something happened to `end` that a dropped peer's liveness depends on.
  fn peer_moved(&mut self, end: usize) {
    let peer = self.peer(end);
    if self.ends[peer].dropped {
      self.make_maybe_dead(peer);
    }
  }

  /// The end closes (its own `close()`, or dropped inside a message): its queue goes, and the
  /// ports inside it close too.
  fn close_end(&mut self, end: usize) {
    if self.ends[end].place == Place::Closed {
      return;
    }
    self.peer_moved(end);
    self.ends[end].place = Place::Closed;
    let pair = self.ends[end].pair;
    if self.pairs[pair].1 == Entangled::Yes {
      let peer = self.peer(end);
      self.ends[peer].started_at_close =
        matches!(self.ends[peer].place, Place::Home(_)) && self.ends[peer].started;
    }
    self.pairs[pair].1 = Entangled::No;
    let queue = std::mem::take(&mut self.ends[end].queue);
    for seq in queue {
      for c in self.msgs[seq as usize].carried.clone() {
        self.close_end(c);
      }
    }
  }

  /// `close()` on a JS port, or a pair closed by a doomed post: when both ends were held and
  /// certain, each JS object listening for `close` gets exactly one.
  fn close_pair_events(&mut self, end: usize) {
    if self.entangled(end) != Entangled::Yes {
      return;
    }
    let peer = self.peer(end);
    for e in [end, peer] {
      if let Place::Home(h) = self.ends[e].place
        && !self.handles[h].dropped
        && self.ends[e].exact
        && self.ends[e].close_flag
      {
        self.handles[h].close_expected = true;
      }
    }
  }

  fn close_handle(&mut self, h: usize) {
    if !self.handles[h].live {
      return;
    }
    let end = self.handles[h].end;
    self.close_pair_events(end);
    self.handles[h].live = false;
    self.close_end(end);
  }

  /// A number for a message about to be posted (JS numbers it before it posts).
  fn reserve(&mut self) -> u32 {
    self.msgs.push(Msg {
      to: usize::MAX,
      carried: Vec::new(),
      desc: String::new(),
      certain: false,
      delivered: false,
    });
    self.msgs.len() as u32 - 1
  }

  fn enqueue(&mut self, seq: u32, to: usize, carried: Vec<usize>, desc: String) {
    let certain = self.ends[to].exact && self.entangled(to) == Entangled::Yes;
    for &c in &carried {
      self.ends[c].place = Place::Transit(seq);
    }
    self.msgs[seq as usize] = Msg {
      to,
      carried: carried.clone(),
      desc,
      certain,
      delivered: false,
    };
    if !certain {
      for c in carried {
        self.make_maybe_dead(c);
      }
    }
    self.ends[to].queue.push_back(seq);
  }

  /// A message that goes nowhere: the ports it carries close as it drops.
  fn drop_message(&mut self, seq: u32, carried: Vec<usize>) {
    self.msgs[seq as usize].carried = carried.clone();
    for c in carried {
      self.ends[c].place = Place::Transit(seq);
      self.close_end(c);
    }
  }

  /// The first check of a transfer list (HTML's StructuredSerializeWithTransfer, before the
  /// value is serialized): the ports it names, or `None` when it throws.
  fn check_transfer(&self, source: Option<usize>, items: &[Transfer]) -> Option<Vec<usize>> {
    let mut ports = Vec::new();
    let mut buffers = Vec::new();
    for item in items {
      match *item {
        Transfer::Port(h) => {
          let handle = &self.handles[h];
          if !handle.live || Some(h) == source || ports.contains(&h) {
            return None;
          }
          ports.push(h);
        }
        Transfer::Buffer(b) => {
          if buffers.contains(&b) {
            return None;
          }
          buffers.push(b);
        }
        Transfer::Bad => return None,
      }
    }
    Some(ports)
  }

  /// `postMessage` from handle `from` of message `seq` (reserved; a message the getter posts
  /// takes the next number).
  fn post(
    &mut self,
    seq: u32,
    from: usize,
    items: &[Transfer],
    value_clonable: bool,
    effect: &ModelEffect,
    desc: String,
  ) -> Outcome {
    let live = self.handles[from].live;
    self.tried[0] += 1;
    let Some(ports) = self.check_transfer(live.then_some(from), items) else {
      self.tried[1] += 1;
      return Outcome::Throws;
    };
    if !value_clonable {
      self.tried[2] += 1;
      return Outcome::Throws;
    }
    match *effect {
      ModelEffect::None => {}
      ModelEffect::Throw => {
        self.tried[3] += 1;
        return Outcome::Throws;
      }
      ModelEffect::Close(h) => self.close_handle(h),
      ModelEffect::Post(h) => {
        // The inner message (numbered after the outer one) is queued first.
        let inner = self.reserve();
        self.post(inner, h, &[], true, &ModelEffect::None, "N0".into());
      }
      ModelEffect::Transfer(via, x) => {
        // What the inner postMessage throws, the getter throws.
        let inner = self.reserve();
        let items = [Transfer::Port(x)];
        if self.post(inner, via, &items, true, &ModelEffect::None, "N0".into()) == Outcome::Throws {
          return Outcome::Throws;
        }
      }
    }
    // The second check: a getter may have closed a port of the list.
    if ports.iter().any(|&h| !self.handles[h].live) {
      return Outcome::Throws;
    }
    let carried: Vec<usize> = ports.iter().map(|&h| self.handles[h].end).collect();
    for &h in &ports {
      self.handles[h].live = false;
      self.handles[h].transferred = true;
      let end = self.handles[h].end;
      self.ends[end].started = false;
      self.ends[end].started_at_close = false;
      self.peer_moved(end);
    }
    let sender = self.handles[from].end;
    if live && self.handles[from].transferred {
      // The getter transferred the posting port. It loses the message (tests/reentrancy.rs has
      // it as a bug); HTML delivers it, to the peer it had when postMessage began. Either will
      // do here: the message may arrive, and the ports it carries may or may not.
      let peer = self.peer(sender);
      if self.entangled(sender) != Entangled::No && !carried.contains(&peer) {
        self.enqueue(seq, peer, carried.clone(), desc);
        self.msgs[seq as usize].certain = false;
        for c in carried {
          self.make_maybe_dead(c);
        }
      } else {
        self.drop_message(seq, carried);
      }
      return Outcome::Ok;
    }
    let sender_open = self.handles[from].live
      && self.ends[sender].place == Place::Home(from)
      && self.entangled(sender) != Entangled::No;
    let peer = self.peer(sender);
    if !live || !sender_open {
      self.drop_message(seq, carried);
    } else if carried.contains(&peer) {
      // HTML's doomed message: the port posted its own peer. Dropped, and the pair closes.
      self.close_pair_events(sender);
      self.drop_message(seq, carried);
    } else {
      self.enqueue(seq, peer, carried, desc);
    }
    Outcome::Ok
  }

  /// `structuredClone({ p: ports }, { transfer })` in one runtime: the ports arrive there as new
  /// objects.
  fn clone_ports(&mut self, handles: &[usize], items: &[Transfer]) -> Option<Vec<usize>> {
    self.check_transfer(None, items)?;
    let mut made = Vec::new();
    for &h in handles {
      self.handles[h].live = false;
      self.handles[h].transferred = true;
      let end = self.handles[h].end;
      self.ends[end].started_at_close = false;
      self.peer_moved(end);
      let rt = self.handles[h].rt;
      let settling = self.settling;
      self.settling = false;
      made.push(self.new_handle(rt, end));
      self.settling = settling;
    }
    Some(made)
  }

  fn drop_handle(&mut self, h: usize) {
    self.handles[h].dropped = true;
    if !self.handles[h].live {
      return;
    }
    let end = self.handles[h].end;
    let peer = self.peer(end);
    let peer_held = matches!(self.ends[peer].place, Place::Home(p) if !self.handles[p].dropped);
    let safe = self.ends[end].started
      && self.ends[end].exact
      && self.entangled(end) == Entangled::Yes
      && peer_held;
    self.ends[end].dropped = true;
    if !safe {
      self.make_maybe_dead(end);
    }
    // Its peer, if dropped too, no longer has a held peer.
    self.peer_moved(end);
  }

  fn violation(&mut self, text: String) {
    self.violations.push(text);
  }

  /// A message delivered to handle `h` (index `index` in runtime `rt`), as JS logged it.
  fn delivered(&mut self, rt: usize, index: usize, id: usize, seq: u32, desc: &str) {
    let seq = self.alias.get(&seq).copied().unwrap_or(seq);
    let Some(&h) = self.by_rt[rt].get(index) else {
      return self.violation(format!(
        "message {seq} delivered to unknown handle {rt}:{index}"
      ));
    };
    if self.handles[h].end != id || id >= self.ends.len() {
      return self.violation(format!(
        "message {seq} delivered to handle {h} of end {id}?"
      ));
    }
    if self.ends[id].place != Place::Home(h) {
      let place = self.ends[id].place;
      self.violation(format!(
        "message {seq} delivered to end {id} by handle {h} (runtime {rt}), but the end is {place:?}"
      ));
    }
    let Some(position) = self.ends[id].queue.iter().position(|&s| s == seq) else {
      let msg = self.msgs.get(seq as usize);
      return self.violation(format!(
        "end {id} received message {seq}, which is not in its queue {:?} (message: to {:?}, \
         delivered {:?})",
        self.ends[id].queue,
        msg.map(|m| m.to),
        msg.map(|m| m.delivered)
      ));
    };
    let skipped: Vec<u32> = self.ends[id].queue.drain(..position).collect();
    self.ends[id].queue.pop_front();
    for s in skipped {
      if self.msgs[s as usize].certain && self.ends[id].exact {
        self.violation(format!(
          "end {id} received message {seq} but message {s}, queued before it, never came"
        ));
      }
      for c in self.msgs[s as usize].carried.clone() {
        self.make_maybe_dead(c);
        if self.ends[c].place == Place::Transit(s) {
          self.ends[c].place = Place::Limbo;
        }
      }
    }
    self.msgs[seq as usize].delivered = true;
    let expected = &self.msgs[seq as usize].desc;
    if expected != desc {
      let expected = expected.clone();
      self.violation(format!(
        "message {seq} to end {id} arrived as {desc}, expected {expected}"
      ));
    }
  }

  fn arrived(&mut self, rt: usize, index: usize, id: usize, carrier: Option<u32>) {
    if id >= self.ends.len() {
      return self.violation(format!("unknown end {id} arrived"));
    }
    if index != self.by_rt[rt].len() {
      self.violation(format!(
        "end {id} arrived in runtime {rt} as handle {index}, expected {}",
        self.by_rt[rt].len()
      ));
    }
    match (self.ends[id].place, carrier) {
      (Place::Transit(seq), Some(c)) if seq == c => {}
      (place, _) => self.violation(format!(
        "end {id} arrived in runtime {rt} with message {carrier:?}, but it was {place:?}"
      )),
    }
    self.new_handle(rt, id);
  }

  fn closed_event(&mut self, rt: usize, index: usize, id: usize) {
    let Some(&h) = self.by_rt[rt].get(index) else {
      return self.violation(format!("close event on unknown handle {rt}:{index}"));
    };
    self.handles[h].closes += 1;
    let pending: Vec<u32> = self.ends[id]
      .queue
      .iter()
      .copied()
      .filter(|&s| self.msgs[s as usize].certain)
      .collect();
    if self.ends[id].exact && self.ends[id].started_at_close && !pending.is_empty() {
      self.violation(format!(
        "end {id} (handle {h}, runtime {rt}) got its close event before messages {pending:?}, \
         posted before the close"
      ));
    }
    if self.handles[h].closes > 1 {
      self.violation(format!(
        "the JS object of end {id} (handle {h}, runtime {rt}) got {} close events",
        self.handles[h].closes
      ));
    }
  }

  /// Whether the end can still arrive somewhere: it is held, or inside a message queued to an
  /// end that can. Ends inside messages queued to each other (one carried to the other's
  /// queue, and the other to the first's) never can: a cycle no runtime holds (README, "Known
  /// gaps").
  fn reachable(&self, end: usize) -> bool {
    let mut current = end;
    for _ in 0..=self.ends.len() {
      match self.ends[current].place {
        Place::Home(_) => return true,
        Place::Transit(seq) => {
          let to = self.msgs[seq as usize].to;
          if to == usize::MAX || self.msgs[seq as usize].delivered {
            return true;
          }
          current = to;
        }
        Place::Closed | Place::Limbo => return false,
      }
    }
    false
  }

  /// After the loops ran dry with every held port started.
  fn check_end(&mut self) {
    for id in 0..self.ends.len() {
      let end = &self.ends[id];
      if !end.exact || end.place == Place::Closed || !self.reachable(id) {
        continue;
      }
      let missing: Vec<u32> = end
        .queue
        .iter()
        .copied()
        .filter(|&s| self.msgs[s as usize].certain)
        .collect();
      if !missing.is_empty() {
        let place = end.place;
        self.violation(format!(
          "end {id} ({place:?}) never received messages {missing:?}"
        ));
      }
      if let Place::Transit(seq) = self.ends[id].place
        && self.msgs[seq as usize].delivered
      {
        self.violation(format!(
          "end {id} was carried by message {seq}, which was delivered, but never arrived"
        ));
      }
    }
    for h in 0..self.handles.len() {
      let handle = &self.handles[h];
      if handle.close_expected && !handle.dropped && !handle.transferred && handle.closes != 1 {
        let (end, rt, closes) = (handle.end, handle.rt, handle.closes);
        self.violation(format!(
          "the JS object of end {end} (handle {h}, runtime {rt}) got {closes} close events, \
           expected 1"
        ));
      }
    }
  }
}

/// A transfer list entry as the model sees it.
#[derive(Debug, Clone, Copy)]
enum Transfer {
  Port(usize),
  Buffer(usize),
  /// Not transferable, or detached already.
  Bad,
}

enum ModelEffect {
  None,
  Throw,
  Close(usize),
  Post(usize),
  Transfer(usize, usize),
}

// ---------------------------------------------------------------------------------------------
// Running an input.

#[derive(Deserialize)]
struct Synced {
  ev: Vec<serde_json::Value>,
  bad: Vec<String>,
}

struct Harness {
  /// Runtime A and runtime B, on this thread: see `Harness::rt`.
  runtimes: Vec<Runtime>,
  output: Rc<RefCell<String>>,
  trace: bool,
  /// `FUZZ_API_STATS=1`: a line of counts per input.
  stats: bool,
  /// `FUZZ_API_CHECK_MEMORY=1`: what the runtimes hold, every 1,000 inputs.
  check_memory: bool,
  /// Inputs run, and how many times the runtimes were replaced.
  inputs: u64,
  replaced: u64,
  /// Drives `Runtime::run_event_loop` at the end of each input.
  tokio: Rc<tokio::runtime::Runtime>,
  /// The JS run for this input, for the failure report.
  transcript: String,
}

impl Harness {
  fn new() -> Self {
    let output = Rc::new(RefCell::new(String::new()));
    let runtimes = vec![new_runtime(output.clone()), new_runtime(output.clone())];
    let mut harness = Harness {
      runtimes,
      output,
      trace: std::env::var_os("FUZZ_API_TRACE").is_some(),
      stats: std::env::var_os("FUZZ_API_STATS").is_some(),
      check_memory: std::env::var_os("FUZZ_API_CHECK_MEMORY").is_some(),
      inputs: 0,
      replaced: 0,
      tokio: Rc::new(
        tokio::runtime::Builder::new_current_thread()
          .enable_time()
          .build()
          .expect("tokio starts"),
      ),
      transcript: String::new(),
    };
    for rt in 0..2 {
      harness.rt(rt, |runtime| {
        runtime
          .execute_script("prelude.js", PRELUDE)
          .expect("prelude runs")
      });
    }
    harness
  }

  /// Prints the process RSS and what each runtime holds (to show that nothing accumulates).
  fn report_memory(&mut self) {
    let rss_kib = std::fs::read_to_string("/proc/self/statm")
      .ok()
      .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
      .map_or(0, |pages| pages * 4);
    let mut held = Vec::new();
    for rt in 0..2 {
      held.push(self.rt(rt, |runtime| {
        runtime.collect_garbage();
        let heap = runtime.isolate().get_heap_statistics();
        format!(
          "heap {} KiB, external {} KiB, {} live ports, {} queued",
          heap.used_heap_size() / 1024,
          heap.external_memory() / 1024,
          runtime.live_ports(),
          runtime.queued_messages()
        )
      }));
    }
    eprintln!(
      "api_sequence: {} inputs, RSS {} MiB, replaced {}; A: {}; B: {}",
      self.inputs,
      rss_kib / 1024,
      self.replaced,
      held[0],
      held[1]
    );
  }

  /// New runtimes in place of the two this one has.
  fn replace_runtimes(&mut self) {
    self.replaced += 1;
    while let Some(runtime) = self.runtimes.pop() {
      drop(runtime);
    }
    self.runtimes = vec![
      new_runtime(self.output.clone()),
      new_runtime(self.output.clone()),
    ];
    for rt in 0..2 {
      self.rt(rt, |runtime| {
        runtime
          .execute_script("prelude.js", PRELUDE)
          .expect("prelude runs")
      });
    }
  }

  /// Runs `f` on runtime `rt` (a `Runtime` enters its own isolate around each call, so the two
  /// share the fuzzing thread).
  fn rt<R>(&mut self, rt: usize, f: impl FnOnce(&mut Runtime) -> R) -> R {
    f(&mut self.runtimes[rt])
  }

  fn js(&mut self, rt: usize, code: &str) -> String {
    let _ = writeln!(self.transcript, "[{}] {code}", ["A", "B"][rt]);
    if self.trace {
      eprintln!("[{}] {code}", ["A", "B"][rt]);
    }
    match self.rt(rt, |runtime| runtime.eval::<String>(code)) {
      Ok(result) => result,
      Err(error) => panic!(
        "harness JS failed in runtime {rt}: {error}\n{code}\ntranscript:\n{}\noutput:\n{}",
        self.transcript,
        self.output.borrow()
      ),
    }
  }

  /// Runs turns of a runtime's loop and takes in what its listeners logged: how many turns
  /// ran, and how many events were logged.
  fn run(&mut self, model: &mut Model, rt: usize, turns: usize) -> (usize, usize) {
    let _ = writeln!(self.transcript, "[{}] <{turns} turns>", ["A", "B"][rt]);
    let ran = self.rt(rt, |runtime| run_turns(runtime, turns));
    (ran, self.sync(model, rt))
  }

  /// Feeds the model what runtime `rt` logged since the last sync; returns how many events.
  fn sync(&mut self, model: &mut Model, rt: usize) -> usize {
    let synced: Synced =
      serde_json::from_str(&self.js(rt, "fz.sync()")).expect("fz.sync() gives JSON");
    for bad in synced.bad {
      model.violation(format!("runtime {rt}: {bad}"));
    }
    let count = synced.ev.len();
    let mut carrier = None;
    for event in synced.ev {
      let kind = event[0].as_str().unwrap_or("");
      let id = event[1].as_u64().unwrap_or(u64::MAX) as usize;
      let index = event[2].as_u64().unwrap_or(u64::MAX) as usize;
      match kind {
        "m" => {
          let seq = event[3].as_u64().unwrap_or(u64::MAX) as u32;
          let desc = event[4].as_str().unwrap_or("");
          observe((
            "delivered",
            rt,
            desc.len().min(64),
            model.ends.get(id).map(|e| e.exact),
          ));
          model.delivered(rt, index, id, seq, desc);
          carrier = Some(seq);
        }
        "a" => model.arrived(rt, index, id, carrier),
        "f" | "x" => {
          let Some(&h) = model.by_rt[rt].get(index) else {
            model.violation(format!("event {event} names an unknown handle"));
            continue;
          };
          if kind == "x" {
            model.close_handle(h);
          } else {
            let js_seq = event[3].as_u64().unwrap_or(u64::MAX) as u32;
            let seq = model.reserve();
            model.alias.insert(js_seq, seq);
            model.post(seq, h, &[], true, &ModelEffect::None, "S\"fwd\"".into());
          }
        }
        "c" => model.closed_event(rt, index, id),
        _ => model.violation(format!("unknown event {event}")),
      }
    }
    count
  }

  fn handle_index(model: &Model, h: usize) -> usize {
    let rt = model.handles[h].rt;
    model.by_rt[rt]
      .iter()
      .position(|&x| x == h)
      .expect("a handle has an index")
  }

  fn apply(&mut self, model: &mut Model, op: &Op) {
    match op {
      Op::Channel {
        in_b,
        close_listeners,
      } => {
        if model.ends.len() >= MAX_ENDS {
          return;
        }
        let rt = usize::from(*in_b);
        let (a, b) = model.new_pair();
        model.ends[a].close_flag = close_listeners & 1 != 0;
        model.ends[b].close_flag = close_listeners & 2 != 0;
        let got = self.js(
          rt,
          &format!(
            "fz.channel({a}, {}, {b}, {})",
            model.ends[a].close_flag, model.ends[b].close_flag
          ),
        );
        let ha = model.new_handle(rt, a);
        let hb = model.new_handle(rt, b);
        let expected = format!(
          "{} {}",
          Self::handle_index(model, ha),
          Self::handle_index(model, hb)
        );
        assert_eq!(got, expected, "handle indices of a new channel");
      }
      Op::Pair { close_listeners } => {
        if model.ends.len() >= MAX_ENDS {
          return;
        }
        self.new_cross_pair(model, *close_listeners);
      }
      Op::Post {
        from,
        value,
        transfer,
        effect,
      } => {
        let Some(h) = model.pick(*from, None) else {
          return;
        };
        self.post(model, h, &value.0, transfer, effect.0.as_ref());
      }
      Op::Move { port, value } => {
        let Some(x) = model.pick(*port, None) else {
          return;
        };
        if !model.handles[x].live {
          return;
        }
        let rt = model.handles[x].rt;
        let Some(link) = self.link(model, rt, x) else {
          return;
        };
        let usable = model.usable(Some(rt));
        let selector = usable.iter().position(|&u| u == x).expect("x is usable") as u8;
        self.post(model, link, &value.0, &[Item::Port(selector)], None);
      }
      Op::Clone { ports, extra } => {
        let Some(first) = ports.first().and_then(|&p| model.pick(p, None)) else {
          return;
        };
        let rt = model.handles[first].rt;
        let handles: Vec<usize> = ports
          .iter()
          .take(4)
          .filter_map(|&p| model.pick(p, Some(rt)))
          .collect();
        let extra = extra % 3;
        let mut items: Vec<Transfer> = handles.iter().map(|&h| Transfer::Port(h)).collect();
        if extra == 1 && !handles.is_empty() {
          items.push(Transfer::Port(handles[0]));
        }
        if extra == 2 {
          items.push(Transfer::Bad);
        }
        let indices = join(&handles, ", ", |&h| {
          Self::handle_index(model, h).to_string()
        });
        let got = self.js(rt, &format!("fz.clone([{indices}], {extra})"));
        match model.clone_ports(&handles, &items) {
          None => {
            if !got.starts_with("throw") {
              model.violation(format!(
                "structuredClone of handles {handles:?} (extra {extra}) did not throw: {got}"
              ));
            }
          }
          Some(made) => {
            let expected = join(&made, "", |&h| format!(" {}", Self::handle_index(model, h)));
            if got != format!("ok{expected}") {
              model.violation(format!(
                "structuredClone of handles {handles:?}: {got}, expected ok {expected}"
              ));
            }
          }
        }
      }
      Op::Start { port } | Op::SetOnMessage { port } => {
        let Some(h) = model.pick(*port, None) else {
          return;
        };
        let rt = model.handles[h].rt;
        let index = Self::handle_index(model, h);
        let call = if matches!(op, Op::Start { .. }) {
          "start"
        } else {
          "setOnMessage"
        };
        self.js(rt, &format!("fz.{call}({index})"));
        if model.handles[h].live {
          let end = model.handles[h].end;
          model.ends[end].started = true;
        }
      }
      Op::ClearOnMessage { port }
      | Op::Close { port }
      | Op::Unlisten { port }
      | Op::Drop { port }
      | Op::CloseOnMessage { port } => {
        let Some(h) = model.pick(*port, None) else {
          return;
        };
        let rt = model.handles[h].rt;
        let index = Self::handle_index(model, h);
        let call = match op {
          Op::ClearOnMessage { .. } => "clearOnMessage",
          Op::Close { .. } => "close",
          Op::Unlisten { .. } => "unlisten",
          Op::CloseOnMessage { .. } => "closeOnMessage",
          _ => "drop",
        };
        self.js(rt, &format!("fz.{call}({index})"));
        match op {
          Op::Close { .. } => model.close_handle(h),
          Op::Unlisten { .. } => {
            let end = model.handles[h].end;
            if model.handles[h].live {
              model.make_inexact(end);
            }
          }
          Op::Drop { .. } => model.drop_handle(h),
          _ => {}
        }
      }
      Op::Forward { port, count } => {
        let Some(h) = model.pick(*port, None) else {
          return;
        };
        let rt = model.handles[h].rt;
        let index = Self::handle_index(model, h);
        self.js(rt, &format!("fz.forward({index}, {})", count % 3 + 1));
      }
      Op::Gc { in_b } => {
        let rt = usize::from(*in_b);
        let _ = writeln!(self.transcript, "[{}] <gc>", ["A", "B"][rt]);
        self.rt(rt, Runtime::collect_garbage);
      }
      Op::Run { which, turns } => {
        let turns = if *turns >= 200 {
          DRY
        } else {
          1 + usize::from(turns % 8)
        };
        match which % 3 {
          0 => {
            self.run(model, 0, turns);
          }
          1 => {
            self.run(model, 1, turns);
          }
          _ => {
            self.run(model, 0, turns);
            self.run(model, 1, turns);
          }
        }
      }
    }
  }

  /// An `entangled_pair()` with one end adopted by each runtime; returns its end in A.
  fn new_cross_pair(&mut self, model: &mut Model, close_listeners: u8) -> (usize, usize) {
    let (a, b) = model.new_pair();
    model.ends[a].close_flag = close_listeners & 1 != 0;
    model.ends[b].close_flag = close_listeners & 2 != 0;
    let (left, right) = entangled_pair();
    let mut handles = [0; 2];
    for (rt, (end, port)) in [(a, left), (b, right)].into_iter().enumerate() {
      let _ = writeln!(self.transcript, "[{}] <adopt end {end}>", ["A", "B"][rt]);
      self.rt(rt, |runtime| {
        runtime
          .define_port("__adopted", port)
          .expect("port adopted")
      });
      let got = self.js(
        rt,
        &format!("fz.adopt({end}, {})", model.ends[end].close_flag),
      );
      let h = model.new_handle(rt, end);
      assert_eq!(
        got,
        Self::handle_index(model, h).to_string(),
        "handle index of an adopted port"
      );
      handles[rt] = h;
    }
    (handles[0], handles[1])
  }

  /// A port of `rt` whose peer is held in the other runtime, to move `x` through; a new pair
  /// when there is none. The peer is started so that `x` arrives.
  fn link(&mut self, model: &mut Model, rt: usize, x: usize) -> Option<usize> {
    let found = model.usable(Some(rt)).into_iter().find(|&h| {
      let end = model.handles[h].end;
      let peer = model.peer(end);
      h != x
        && model.handles[h].live
        && model.entangled(end) == Entangled::Yes
        && end != model.handles[x].end
        && matches!(model.ends[peer].place, Place::Home(p)
          if model.handles[p].rt != rt && model.handles[p].live && !model.handles[p].dropped)
    });
    let link = match found {
      Some(h) => h,
      None => {
        if model.ends.len() >= MAX_ENDS {
          return None;
        }
        let made = self.new_cross_pair(model, 0);
        if rt == 0 { made.0 } else { made.1 }
      }
    };
    let peer = model.peer(model.handles[link].end);
    if let Place::Home(p) = model.ends[peer].place {
      let other = model.handles[p].rt;
      let index = Self::handle_index(model, p);
      self.js(other, &format!("fz.start({index})"));
      model.ends[peer].started = true;
    }
    Some(link)
  }

  fn post(
    &mut self,
    model: &mut Model,
    from: usize,
    value: &Shape,
    transfer: &[Item],
    effect: Option<&Effect>,
  ) {
    let rt = model.handles[from].rt;
    let mut emitter = Emitter::default();
    let value_js = emitter.js(value);
    // The transfer list: the items, then the buffers of the value.
    let mut items_js: Vec<String> = Vec::new();
    let mut items: Vec<Transfer> = Vec::new();
    for item in transfer.iter().take(4) {
      match item {
        Item::Port(selector) => {
          if let Some(h) = model.pick(*selector, Some(rt)) {
            items_js.push(format!("fz.port({})", Self::handle_index(model, h)));
            items.push(Transfer::Port(h));
          }
        }
        Item::Dup => {
          if let (Some(js), Some(&last)) = (items_js.last().cloned(), items.last()) {
            // A detached buffer made again is another (detached) buffer: bad either way.
            items_js.push(js);
            items.push(last);
          }
        }
        Item::Detached => {
          items_js.push("fz.detached()".into());
          items.push(Transfer::Bad);
        }
        Item::Plain => {
          items_js.push("({})".into());
          items.push(Transfer::Bad);
        }
      }
    }
    for (i, name) in emitter.buffers.iter().enumerate() {
      items_js.push(name.clone());
      items.push(Transfer::Buffer(i));
    }
    let seq = model.reserve();
    // The getter's message is numbered after this one.
    let (effect_js, model_effect) = match effect {
      None => ("0, 0, 0".to_string(), ModelEffect::None),
      Some(Effect::Throw) => ("1, 0, 0".to_string(), ModelEffect::Throw),
      Some(Effect::Close(selector)) => match model.pick(*selector, Some(rt)) {
        Some(h) => (
          format!("2, {}, 0", Self::handle_index(model, h)),
          ModelEffect::Close(h),
        ),
        None => ("0, 0, 0".to_string(), ModelEffect::None),
      },
      Some(Effect::Post(selector)) => match model.pick(*selector, Some(rt)) {
        Some(h) => (
          format!("3, {}, {}", Self::handle_index(model, h), seq + 1),
          ModelEffect::Post(h),
        ),
        None => ("0, 0, 0".to_string(), ModelEffect::None),
      },
      Some(Effect::Transfer(via, port)) => {
        match (model.pick(*via, Some(rt)), model.pick(*port, Some(rt))) {
          (Some(via), Some(x)) => (
            format!(
              "4, [{}, {}], {}",
              Self::handle_index(model, via),
              Self::handle_index(model, x),
              seq + 1
            ),
            ModelEffect::Transfer(via, x),
          ),
          _ => ("0, 0, 0".to_string(), ModelEffect::None),
        }
      }
    };
    let code = format!(
      "(() => {{ {}const v = {value_js}; return fz.post({}, {seq}, [{}], v, [{}], {effect_js}); }})()",
      emitter.decls,
      Self::handle_index(model, from),
      items_js.join(", "),
      emitter.buffers.join(", "),
    );
    let got = self.js(rt, &code);
    let desc = describe(value, &mut 0);
    let expected = model.post(seq, from, &items, !unclonable(value), &model_effect, desc);
    let actual = if got == "ok" {
      Outcome::Ok
    } else {
      Outcome::Throws
    };
    observe((
      "post",
      expected == Outcome::Ok,
      items.len(),
      unclonable(value),
    ));
    if actual != expected {
      model.violation(format!(
        "message {seq}: postMessage gave `{got}`, the model expected {expected:?}"
      ));
    }
  }

  fn run_input(&mut self, ops: &[Op]) {
    self.inputs += 1;
    if self.check_memory && self.inputs.is_multiple_of(1000) {
      self.report_memory();
    }
    self.transcript.clear();
    self.output.borrow_mut().clear();
    let mut model = Model::new();
    self.js(0, &format!("fz.begin({FORWARDED_A})"));
    self.js(1, &format!("fz.begin({FORWARDED_B})"));
    for op in ops {
      self.apply(&mut model, op);
    }
    // Every port still held starts, and both loops run dry (arrivals start as they come).
    model.settling = true;
    for rt in 0..2 {
      self.js(rt, "fz.settle()");
      for h in model.usable(Some(rt)) {
        if model.handles[h].live {
          let end = model.handles[h].end;
          model.ends[end].started = true;
        }
      }
    }
    for _ in 0..16 {
      let (turns_a, events_a) = self.run(&mut model, 0, DRY);
      let (turns_b, events_b) = self.run(&mut model, 1, DRY);
      if turns_a + turns_b <= 2 && events_a + events_b == 0 {
        break;
      }
    }
    model.check_end();
    if self.stats {
      let mut kinds = std::collections::BTreeMap::<String, u32>::new();
      for op in ops {
        let kind = format!("{op:?}");
        let kind = kind.split([' ', '{', '(']).next().unwrap_or("").to_string();
        *kinds.entry(format!("op-{kind}")).or_default() += 1;
      }
      eprintln!("stats: {}", join(kinds, " ", |(k, v)| format!("{k} {v}")));
      let posted = model.msgs.iter().filter(|m| m.to != usize::MAX).count();
      let certain = model
        .msgs
        .iter()
        .filter(|m| m.to != usize::MAX && m.certain)
        .count();
      let delivered = model.msgs.iter().filter(|m| m.delivered).count();
      let carried = model
        .msgs
        .iter()
        .filter(|m| m.delivered && !m.carried.is_empty())
        .count();
      let cross = model.handles.iter().filter(|h| h.rt == 1).count();
      let closes = model.handles.iter().map(|h| h.closes).sum::<u32>();
      let expected = model.handles.iter().filter(|h| h.close_expected).count();
      eprintln!(
        "stats: tried {} bad-list {} unclonable {} getter-threw {} ops {} posted {posted} certain {certain} delivered {delivered} \
         delivered-with-ports {carried} handles {} in-b {cross} closes {closes} \
         close-expected {expected} exact-ends {}",
        model.tried[0],
        model.tried[1],
        model.tried[2],
        model.tried[3],
        ops.len(),
        model.handles.len(),
        model.ends.iter().filter(|e| e.exact).count()
      );
    }
    for rt in 0..2 {
      for error in self.rt(rt, uncaught_errors) {
        model.violation(format!("runtime {rt}: uncaught {error}"));
      }
    }
    observe(("violations", model.violations.len().min(4)));
    if !model.violations.is_empty() {
      panic!(
        "{} violation(s):\n  {}\n\nops: {ops:#?}\n\nJS run:\n{}\noutput:\n{}",
        model.violations.len(),
        model.violations.join("\n  "),
        self.transcript,
        self.output.borrow()
      );
    }
    // Leave nothing behind: every port closes and both loops run dry. A port this input dropped
    // may still wait for a peer in the other runtime (started, listening) until that runtime
    // collects the peer: both collect garbage then. Nothing may wait after that.
    self.js(0, "fz.end()");
    self.js(1, "fz.end()");
    let mut collected = false;
    for round in 0.. {
      let a = self.rt(0, |runtime| run_until_idle(runtime, DRY));
      let b = self.rt(1, |runtime| run_until_idle(runtime, DRY));
      if a == Poll::Done && b == Poll::Done {
        break;
      }
      if a == Poll::Ready || b == Poll::Ready {
        assert!(
          round < 100,
          "the loops never run dry after every port closed"
        );
        continue;
      }
      if collected {
        // Ports this input dropped, started and listening, may wait for each other across the
        // runtimes (each a root because its peer is elsewhere): garbage no runtime can collect,
        // which keeps both loops waiting (README, "Liveness"). Fresh runtimes for the next input.
        if model.handles.iter().any(|h| h.dropped && h.live) {
          self.replace_runtimes();
          return;
        }
        panic!(
          "an event loop still waits ({a:?}, {b:?}) after every port closed and both runtimes \
           collected garbage, and no port was dropped\n{}",
          self.transcript
        );
      }
      if !collected {
        collected = true;
        self.rt(0, Runtime::collect_garbage);
        self.rt(1, Runtime::collect_garbage);
      }
    }
    // Then `run_event_loop` (the real loop, which also collects garbage before it ends when a
    // port listens for `close`) must end at once in each.
    let tokio = self.tokio.clone();
    for rt in [0, 1, 0, 1] {
      let ended = self.rt(rt, |runtime| {
        tokio.block_on(async {
          tokio::time::timeout(std::time::Duration::from_secs(20), runtime.run_event_loop()).await
        })
      });
      match ended {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!(
          "runtime {rt}: the event loop failed after every port closed: {error}\n{}\noutput:\n{}",
          self.transcript,
          self.output.borrow()
        ),
        Err(_) => panic!(
          "runtime {rt}: the event loop did not end within 20 s after every port closed\n{}",
          self.transcript
        ),
      }
    }
  }
}

impl Drop for Harness {
  fn drop(&mut self) {
    // Isolates go in the reverse order of their creation (rusty_v8 asserts it).
    while let Some(runtime) = self.runtimes.pop() {
      drop(runtime);
    }
  }
}

thread_local! {
  static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
  static FRESH: bool = std::env::var_os("FUZZ_API_FRESH").is_some();
}

fuzz_target!(|data: &[u8]| {
  let ops = decode(data);
  HARNESS.with(|harness| {
    let mut harness = harness.borrow_mut();
    if FRESH.with(|fresh| *fresh) {
      *harness = None;
    }
    harness.get_or_insert_with(Harness::new).run_input(&ops);
  });
});
