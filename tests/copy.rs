//! The same-isolate copy (js/11_message_copy.js) against V8's serializer: random values posted
//! through a MessageChannel must arrive exactly as structuredClone makes them.
//!
//! A seeded generator (the JS in [`FUZZ`]) builds each value twice from one seed: two separate
//! but identical object graphs, each with its own getter log, because getters run (and may
//! mutate, count or throw) while a value is cloned. One build goes through `structuredClone`
//! (always V8's serializer), the other through `port1.postMessage` (the JS copy when it can
//! take the value, else the serializer). The script then compares, in JS: the delivered value
//! with the clone (a parallel walk that must match object for object: aliasing and cycles,
//! kinds and internal state, prototypes, extensibility, own keys in order, every property
//! descriptor, Map and Set entries in order, typed array views and which buffers they share),
//! the two getter logs, the two originals after cloning (what the getters did to them), and
//! what was thrown (the same error, the getter's own exception where a getter threw, and then
//! no message at all).
//!
//! Values come in three modes: data the copy takes (plain objects, pristine arrays, builtins),
//! data without accessors that it gives up on (sparse and named arrays, symbol and
//! non-enumerable keys, dictionary-mode and frozen objects, errors, exotic objects), and wild
//! values (getters that return, count, mutate or throw, proxies, functions and other
//! unclonables deep inside). So both paths of postMessage are exercised.
//!
//! CI checks a few thousand values. A long run (`V8MC_COPY_FUZZ_SEED` picks another base seed):
//!
//! ```sh
//! V8MC_COPY_FUZZ_VALUES=200000 cargo test --release -- --ignored copy::
//! ```
//!
//! A mismatch report shows the value and the seed that rebuilds it as the first value of a run.

use crate::setup::run;

/// Values checked in CI (a second or two in a debug build).
const CI_VALUES: u32 = 5000;
const CI_SEED: u32 = 0x2b7e_1516;
/// Values of the long run unless `V8MC_COPY_FUZZ_VALUES` says otherwise.
const LONG_RUN_VALUES: u32 = 200_000;
const LONG_RUN_SEED: u32 = 0x9e37_79b9;

/// What one run found: the counts the script prints.
#[derive(Debug)]
struct Summary {
  copyable: u32,
  getter_free: u32,
  wild: u32,
  delivered: u32,
  data_clone_errors: u32,
  getter_throws: u32,
  getter_calls: u32,
  /// structuredClone failed to deserialize what V8 serialized, and the post's receiver got
  /// messageerror (see `deserializeFailed` in the script). Only reported (the long run prints
  /// the summary): rare, and CI's values may have none.
  #[allow(dead_code)]
  undeserializable: u32,
}

/// Checks `values` random values from `seed` on; panics with the report on any mismatch.
fn fuzz(values: u32, seed: u32) -> Summary {
  let source = format!("\"use strict\";\nconst COUNT = {values}, SEED = {seed}, SHOW = 5;\n{FUZZ}");
  let outcome = run(&source);
  outcome.expect_ok();
  let lines = outcome.lines();
  let expected = format!("checked {values} values, 0 mismatches");
  assert_eq!(
    lines.first().copied(),
    Some(expected.as_str()),
    "postMessage differs from structuredClone (seed {seed}):\n{}",
    outcome.stdout
  );
  let counts: Vec<u32> = lines
    .get(1)
    .unwrap_or(&"")
    .split(|c: char| !c.is_ascii_digit())
    .filter_map(|n| n.parse().ok())
    .collect();
  let [
    copyable,
    getter_free,
    wild,
    delivered,
    data_clone_errors,
    getter_throws,
    getter_calls,
    undeserializable,
  ] = counts[..]
  else {
    panic!("no counts in:\n{}", outcome.stdout);
  };
  Summary {
    copyable,
    getter_free,
    wild,
    delivered,
    data_clone_errors,
    getter_throws,
    getter_calls,
    undeserializable,
  }
}

fn env_u32(name: &str) -> Option<u32> {
  let value = std::env::var(name).ok()?;
  Some(
    value
      .parse()
      .unwrap_or_else(|_| panic!("{name}={value} is not a u32")),
  )
}

#[test]
fn random_values_arrive_as_structured_clone_makes_them() {
  let summary = fuzz(CI_VALUES, CI_SEED);
  // The mix must reach both paths and every way a clone ends.
  let enough = |count: u32, share: u32| count >= CI_VALUES / share;
  assert!(
    enough(summary.copyable, 4) && enough(summary.getter_free, 5) && enough(summary.wild, 4),
    "{summary:?}"
  );
  assert!(enough(summary.delivered, 2), "{summary:?}");
  assert!(
    enough(summary.data_clone_errors, 50) && enough(summary.getter_throws, 50),
    "{summary:?}"
  );
  assert!(enough(summary.getter_calls, 5), "{summary:?}");
}

#[test]
#[ignore = "long run: V8MC_COPY_FUZZ_VALUES=200000 cargo test --release -- --ignored copy::"]
fn many_random_values_arrive_as_structured_clone_makes_them() {
  let values = env_u32("V8MC_COPY_FUZZ_VALUES").unwrap_or(LONG_RUN_VALUES);
  let seed = env_u32("V8MC_COPY_FUZZ_SEED").unwrap_or(LONG_RUN_SEED);
  let summary = fuzz(values, seed);
  println!("{values} values from seed {seed}: {summary:?}");
}

/// The generator, the comparison and the run. Given: COUNT, SEED, SHOW (mismatches reported in
/// full). Prints `checked N values, M mismatches`, then the counts,
/// then the first mismatches.
const FUZZ: &str = r##"
// ---------------------------------------------------------------------------------------------
// Randomness: one mulberry32 stream per value, so a value is rebuilt exactly from its seed.

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (g, n) => Math.floor(g.rnd() * n);
const chance = (g, p) => g.rnd() < p;
const pick = (g, list) => list[int(g, list.length)];

// ---------------------------------------------------------------------------------------------
// What both builds of a value share: classes (so prototypes are the same objects), and the
// registries the comparison reads instead of running code.

class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
  get sum() {
    return "on the prototype, never own";
  }
}
class Secret {
  #hidden = "private";
  constructor(v) {
    this.visible = v;
  }
}
class MyArray extends Array {}
class MyMap extends Map {}
class MySet extends Set {}
class MyError extends Error {
  constructor(m) {
    super(m);
    this.name = "MyError";
  }
}
const sloppyArguments = new Function("return arguments;");
const strictArguments = function () {
  return arguments;
};
const otherChannel = new MessageChannel();
/** Functions made by a build -> their label: two builds' functions compare by it. */
const fnLabels = new WeakMap();
/** Proxies -> their label: never looked into (their traps log). */
const opaque = new WeakMap();
/**
 * Builtins made by a build -> their kind. Builds give some of them other prototypes; values
 * made by a structured clone always have their kind's own prototype, which then tells the kind.
 */
const kinds = new WeakMap();
const branded = (kind, x) => {
  kinds.set(x, kind);
  return x;
};

const TYPED = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array",
  "BigUint64Array",
].filter((name) => typeof globalThis[name] === "function").map((name) => globalThis[name]);
const ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
const NUMBERS = [
  0, -0, 1, -1, 0.5, -1.5, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53,
  Number.MIN_VALUE, Number.MAX_VALUE, 1e21, 42, 255, 256, 65535,
];
const BIGINTS = [0n, 1n, -1n, 2n ** 63n, 2n ** 64n, -(2n ** 100n), 9007199254740993n];
const STRING_PIECES = [
  "", "a", "key", "\ud800", "\udc00", "\ud83d\ude00", "\u2603", "\xff", "\0", "\u2028", '"',
  "\\", " ", "\xe9", "\udbff\udfff",
];
const DATES = [0, -1, 1.5, -0, 1e12, 1700000000000, 8.64e15, -8.64e15, 8.64e15 + 1, NaN];
const REGEXP_SOURCES = [
  "a+", "(?:x|y)*", "\\d{2,}", "", "^.$", "\\/", "[\\ud800]", "\\u{1F600}", "\u2603+",
  "(?<name>b)\\k<name>", "a\nb", "[a-z]", "\\p{L}",
];
/** Keys: a few common ones (so shapes repeat), integer-like ones and odd ones. */
const COMMON_KEYS = ["a", "b", "c", "d", "x", "y", "z"];
const ODD_KEYS = [
  "name", "length", "constructor", "toString", "__proto__", "0", "1", "2", "7", "10",
  "4294967294", "4294967295", "-1", "1.5", "01", "-0", "", "\ud800", "k\u2603", "then",
];
const NAMED_ARRAY_KEYS = ["extra", "name", "-1", "1.5", "4294967295", "x"];

// ---------------------------------------------------------------------------------------------
// The generator. `g` is one build's state: its random stream, its getter log, its mode, and
// the objects made so far (`pool`: anything may point at them, so shared references and cycles
// happen).

function newGen(seed, log, mode, parent) {
  return {
    rnd: mulberry32(seed),
    log,
    mode,
    odd: mode !== "copyable",
    wild: mode === "wild",
    pool: parent ? parent.pool : [],
    closed: parent ? parent.closed : [],
    buffers: parent ? parent.buffers : [],
    labels: parent ? parent.labels : { n: 0 },
    calls: parent ? parent.calls : { n: 0 },
    thrown: parent ? parent.thrown : { last: undefined },
    nodes: 0,
    budget: 40,
    depthMax: 6,
  };
}

/** A value from `seed` alone; its getters log to `log`. */
function build(seed, log) {
  const first = mulberry32(seed)();
  const mode = first < 0.35 ? "copyable" : first < 0.65 ? "getter-free" : "wild";
  const g = newGen(seed ^ 0x5bd1e995, log, mode, null);
  g.budget = 4 + int(g, g.wild ? 100 : 60);
  const root = chance(g, 0.04) ? primitive(g) : value(g, 0);
  return { root, g, mode };
}

/** A build made by a getter while it runs: its own stream, everything else shared. */
function fork(g, seed) {
  const f = newGen(seed, g.log, g.mode, g);
  f.budget = 6;
  return f;
}

function string(g) {
  let s = "";
  const n = int(g, 4);
  for (let i = 0; i < n; i++) s += pick(g, STRING_PIECES);
  if (chance(g, 0.02)) s += "long".repeat(int(g, 600));
  return s;
}

function primitive(g) {
  switch (int(g, 10)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return chance(g, 0.5);
    case 3:
    case 4:
      return pick(g, NUMBERS);
    case 5:
      return chance(g, 0.5) ? pick(g, BIGINTS) : BigInt(int(g, 2000)) - 1000n;
    case 6:
    case 7:
      return string(g);
    case 8:
      return int(g, 100);
    default:
      return (g.rnd() - 0.5) * 1e6;
  }
}

function key(g) {
  const r = g.rnd();
  if (r < 0.55) return pick(g, COMMON_KEYS);
  if (r < 0.85) return pick(g, ODD_KEYS);
  return "k" + int(g, 60);
}

function leaf(g) {
  return chance(g, 0.88) ? primitive(g) : builtin(g);
}

function value(g, depth) {
  g.nodes++;
  if (depth >= g.depthMax || g.nodes > g.budget || (depth > 0 && chance(g, 0.25))) {
    return leaf(g);
  }
  if (g.pool.length > 0 && chance(g, 0.08)) return pick(g, g.pool);
  if (g.closed.length > 0 && chance(g, 0.03)) return pick(g, g.closed);
  if (g.wild && chance(g, 0.02)) return unclonable(g);
  // Around the copy's nesting limit (256).
  if (chance(g, 0.003)) return chain(g, pick(g, [100, 254, 255, 256, 257, 300]));
  const r = int(g, 100);
  if (r < 36) return object(g, depth);
  if (r < 58) return array(g, depth);
  if (r < 64) return map(g, depth);
  if (r < 69) return set(g, depth);
  if (r < 80) return binary(g);
  if (r < 86) return builtin(g);
  if (!g.odd) return object(g, depth);
  if (r < 92) return error(g, depth);
  if (r < 98) return exotic(g, depth);
  return wide(g, depth);
}

function defineData(o, k, v) {
  const descriptor = { value: v, writable: true, enumerable: true, configurable: true };
  return Reflect.defineProperty(o, k, descriptor);
}

/** Sets `o[k]`; where that would call a setter or fail (inherited read-only), defines it. */
function put(o, k, v) {
  let done = false;
  if (k !== "__proto__") {
    try {
      done = Reflect.set(o, k, v) && Reflect.getOwnPropertyDescriptor(o, k) !== undefined;
    } catch {
      done = false;
    }
  }
  if (!done) defineData(o, k, v);
}

function object(g, depth) {
  let o;
  switch (int(g, g.odd ? 12 : 8)) {
    case 0:
    case 1:
    case 2:
      o = {};
      break;
    case 3:
      return literal(g, depth);
    case 4:
      o = new Point(primitive(g), primitive(g));
      break;
    case 5:
      o = Object.setPrototypeOf({}, null);
      break;
    case 6:
      o = JSON.parse('{"a":0,"b":0}');
      break;
    case 7:
      o = new Secret(primitive(g));
      break;
    case 8:
      o = Object.create(null);
      break;
    case 9:
      o = { __proto__: null, a: 1 };
      break;
    case 10:
      o = Object.create(g.pool.length > 0 && chance(g, 0.5) ? pick(g, g.pool) : Point.prototype);
      break;
    default:
      o = Object.create(Object.freeze({ frozen: true }));
  }
  g.pool.push(o);
  const n = chance(g, 0.05) ? 10 + int(g, 30) : int(g, 7);
  for (let i = 0; i < n; i++) property(g, o, depth);
  if (g.odd) reshape(g, o);
  return o;
}

function property(g, o, depth) {
  const k = key(g);
  const r = int(g, 100);
  if (g.wild && r < 40) {
    Reflect.defineProperty(o, chance(g, 0.9) ? k : Symbol(k), accessor(g, depth, o));
    return;
  }
  if (g.odd && r < 32) {
    const v = value(g, depth + 1);
    if (r < 14) {
      // Assignment could hit a read-only key inherited from a frozen prototype.
      defineData(o, r < 8 ? Symbol.for(k) : Symbol(k), v);
    } else if (r < 22) {
      Reflect.defineProperty(o, k, { value: v, writable: true, enumerable: false, configurable: true });
    } else {
      const descriptor = { value: v, writable: r % 2 === 0, enumerable: true, configurable: r % 3 === 0 };
      Reflect.defineProperty(o, k, descriptor);
    }
    return;
  }
  put(o, k, value(g, depth + 1));
}

/** Later changes to an object's shape: deletes (dictionary mode), integrity levels. */
function reshape(g, o) {
  const r = int(g, 100);
  if (r < 8) {
    const keys = Reflect.ownKeys(o);
    if (keys.length > 0) Reflect.deleteProperty(o, keys[int(g, keys.length)]);
  } else if (r < 13) {
    Object.freeze(o);
  } else if (r < 16) {
    Object.seal(o);
  } else if (r < 18) {
    Object.preventExtensions(o);
  }
}

function literal(g, depth) {
  let o;
  switch (int(g, 5)) {
    case 0:
      o = { a: value(g, depth + 1), b: value(g, depth + 1) };
      break;
    case 1:
      o = { x: value(g, depth + 1), y: value(g, depth + 1), z: value(g, depth + 1) };
      break;
    case 2:
      o = { name: value(g, depth + 1) };
      break;
    case 3:
      o = { 0: value(g, depth + 1), 1: value(g, depth + 1), a: value(g, depth + 1) };
      break;
    default:
      o = Object.fromEntries([[key(g), value(g, depth + 1)], [key(g), value(g, depth + 1)]]);
  }
  g.pool.push(o);
  return o;
}

function wide(g, depth) {
  const o = {};
  g.pool.push(o);
  const n = 30 + int(g, 20);
  for (let i = 0; i < n; i++) o["w" + i] = chance(g, 0.9) ? primitive(g) : value(g, depth + 1);
  return o;
}

function array(g, depth) {
  let a;
  const n = chance(g, 0.05) ? 17 + int(g, 40) : int(g, 7);
  switch (int(g, g.odd ? 10 : 7)) {
    case 0:
      a = [];
      g.pool.push(a);
      for (let i = 0; i < n; i++) a.push(value(g, depth + 1));
      break;
    case 1:
      a = new Array(n);
      g.pool.push(a);
      for (let i = 0; i < n; i++) if (chance(g, 0.7)) a[i] = value(g, depth + 1);
      break;
    case 2:
      a = Array.from({ length: n }, () => value(g, depth + 1));
      g.pool.push(a);
      break;
    case 3:
      a = Array.from({ length: n }, () => (chance(g, 0.5) ? pick(g, NUMBERS) : int(g, 10)));
      g.pool.push(a);
      break;
    case 4:
      a = [value(g, depth + 1), value(g, depth + 1)];
      g.pool.push(a);
      break;
    case 5:
      a = [];
      g.pool.push(a);
      for (let i = 0; i < n; i++) a[i] = value(g, depth + 1);
      if (n > 0 && chance(g, 0.5)) delete a[int(g, n)];
      else a.length = n + int(g, 3);
      break;
    case 6:
      a = [pick(g, NUMBERS), pick(g, NUMBERS), , pick(g, NUMBERS)];
      g.pool.push(a);
      break;
    case 7:
      a = new MyArray();
      g.pool.push(a);
      for (let i = 0; i < n; i++) a.push(value(g, depth + 1));
      break;
    case 8:
      // Sparse, and longer than the copy takes.
      a = [value(g, depth + 1)];
      g.pool.push(a);
      a[pick(g, [10, 1000, 100000, 70000])] = value(g, depth + 1);
      if (chance(g, 0.3)) a.length = 70000;
      break;
    default:
      a = Object.setPrototypeOf([value(g, depth + 1)], pick(g, [null, Object.prototype, Point.prototype]));
      g.pool.push(a);
  }
  if (g.odd) {
    const r = int(g, 100);
    if (r < 6) {
      put(a, pick(g, NAMED_ARRAY_KEYS), value(g, depth + 1));
    } else if (r < 11 && a.length > 0) {
      const hidden = { value: primitive(g), writable: true, enumerable: false, configurable: true };
      Reflect.defineProperty(a, int(g, a.length), hidden);
    } else if (r < 14) {
      a[Symbol("s")] = primitive(g);
    } else if (r < 18) {
      Object.freeze(a);
    } else if (r < 20) {
      Object.seal(a);
    } else if (r < 23 && a.length > 0) {
      delete a[int(g, a.length)];
    }
  }
  if (g.wild && chance(g, 0.15) && Object.isExtensible(a)) {
    const where = a.length > 0 && chance(g, 0.6) ? String(int(g, a.length)) : pick(g, NAMED_ARRAY_KEYS);
    Reflect.defineProperty(a, where, accessor(g, depth, a));
  }
  return a;
}

/**
 * A Map or Set entry: often a primitive, otherwise any value, which may reach back to the Map
 * or Set itself or to an object still being built around it (the copy must give those up or
 * keep their identity).
 */
function entry(g, depth) {
  if (chance(g, 0.4)) return leaf(g);
  return value(g, depth);
}

function map(g, depth) {
  const m = branded("Map", g.odd && chance(g, 0.1) ? new MyMap() : new Map());
  g.pool.push(m);
  const n = int(g, 5);
  for (let i = 0; i < n; i++) m.set(entry(g, depth + 1), entry(g, depth + 1));
  if (g.odd && chance(g, 0.05)) m.extra = primitive(g);
  return m;
}

function set(g, depth) {
  const s = branded("Set", g.odd && chance(g, 0.1) ? new MySet() : new Set());
  g.pool.push(s);
  const n = int(g, 5);
  for (let i = 0; i < n; i++) s.add(entry(g, depth + 1));
  if (g.odd && chance(g, 0.05)) s.extra = primitive(g);
  return s;
}

function regexp(g) {
  let flags = "";
  for (const f of "dgimsy") if (chance(g, 0.25)) flags += f;
  const r = g.rnd();
  if (r < 0.2) flags += "u";
  else if (r < 0.3) flags += "v";
  let re;
  try {
    re = new RegExp(pick(g, REGEXP_SOURCES), flags);
  } catch {
    re = new RegExp("x", "g");
  }
  if (chance(g, 0.2)) re.lastIndex = int(g, 5);
  return re;
}

function builtin(g) {
  let v;
  switch (int(g, 9)) {
    case 0:
    case 1:
      v = branded("Date", new Date(pick(g, DATES)));
      break;
    case 2:
    case 3:
      v = branded("RegExp", regexp(g));
      break;
    case 4:
      v = branded("Number", new Number(pick(g, NUMBERS)));
      break;
    case 5:
      v = branded("String", new String(string(g)));
      break;
    case 6:
      v = branded("Boolean", new Boolean(chance(g, 0.5)));
      break;
    case 7:
      v = branded("BigInt", Object(pick(g, BIGINTS)));
      break;
    default:
      v = branded("Date", new Date(int(g, 1e12)));
  }
  if (g.odd && chance(g, 0.05)) v.extra = primitive(g);
  g.pool.push(v);
  return v;
}

function buffer(g) {
  // From 4096 bytes up the copy hands the bytes to Rust.
  const n = chance(g, 0.04) ? 4090 + int(g, 20) : pick(g, [0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 32, 64]);
  const resizable = g.odd && chance(g, 0.12);
  const b = branded("ArrayBuffer", resizable ? new ArrayBuffer(n, { maxByteLength: n + 16 }) : new ArrayBuffer(n));
  const bytes = new Uint8Array(b);
  for (let i = 0; i < n; i++) bytes[i] = int(g, 256);
  g.buffers.push(b);
  return b;
}

function binary(g) {
  const r = int(g, 10);
  if (r < 2) return g.buffers.length > 0 && chance(g, 0.5) ? pick(g, g.buffers) : buffer(g);
  if (r < 3) {
    // Small typed arrays keep their elements in the object until someone asks for the buffer.
    const C = pick(g, TYPED);
    const t = new C(int(g, 9));
    const big = C === BigInt64Array || C === BigUint64Array;
    for (let i = 0; i < t.length; i++) t[i] = big ? BigInt(int(g, 1e6)) - 500000n : pick(g, NUMBERS);
    return t;
  }
  const buf = g.buffers.length > 0 && chance(g, 0.6) ? pick(g, g.buffers) : buffer(g);
  if (buf.resizable && chance(g, 0.2)) buf.resize(int(g, buf.maxByteLength + 1));
  const C = r < 8 ? pick(g, TYPED) : DataView;
  const size = C.BYTES_PER_ELEMENT || 1;
  const total = buf.byteLength;
  const offset = size * int(g, Math.floor(total / size) + 1);
  const room = Math.floor((total - offset) / size);
  // Without a length a view runs to the end (and tracks a resizable buffer's length).
  const view = chance(g, 0.25) && (total - offset) % size === 0
    ? new C(buf, offset)
    : new C(buf, offset, int(g, room + 1));
  if (g.odd && chance(g, 0.05)) view.extra = primitive(g);
  if (g.wild && chance(g, 0.04)) {
    buf.transfer();
    g.buffers.splice(g.buffers.indexOf(buf), 1);
  }
  return view;
}

function error(g, depth) {
  const message = chance(g, 0.8) ? string(g) : undefined;
  let e;
  switch (int(g, 11)) {
    case 0:
    case 1:
    case 2:
      e = new (pick(g, ERRORS))(message);
      break;
    case 3:
      e = new AggregateError([], message);
      break;
    case 4:
      e = new MyError(message);
      break;
    case 5:
      e = new Error(message, { cause: value(g, depth + 1) });
      break;
    case 6:
      e = new (pick(g, ERRORS))(message);
      e.name = pick(g, ["Renamed", "TypeError", ""]);
      break;
    case 7:
      e = Object.setPrototypeOf(new Error(message), pick(g, ERRORS).prototype);
      break;
    case 8:
      e = new RangeError(message);
      e.extra = value(g, depth + 1);
      break;
    case 9:
      e = new DOMException(message, "AbortError");
      break;
    default:
      e = new TypeError(message);
      delete e.message;
  }
  formatStack(e);
  if (g.wild && chance(g, 0.15)) {
    Reflect.defineProperty(e, pick(g, ["message", "name", "stack", "cause"]), accessor(g, depth, e));
  }
  g.pool.push(e);
  return e;
}

/** Objects of other kinds, and objects of one kind with the prototype of another. */
function exotic(g, depth) {
  let o;
  switch (int(g, 9)) {
    case 0:
      o = sloppyArguments(value(g, depth + 1), value(g, depth + 1));
      break;
    case 1:
      o = strictArguments(value(g, depth + 1));
      break;
    case 2: {
      const protos = [Map, Date, Array, Error, RegExp, Uint8Array].map((C) => C.prototype);
      o = Object.create(pick(g, protos));
      o.a = primitive(g);
      break;
    }
    case 3: {
      const makers = [[Map, []], [Set, []], [Date, [5]], [Array, [1, 2]], [Error, ["e"]], [Uint8Array, [2]]];
      const [C, args] = pick(g, makers);
      o = Reflect.construct(C, args, Object);
      if (C === Map || C === Set || C === Date) branded(C.name, o);
      if (C === Error) formatStack(o);
      break;
    }
    case 4:
      o = Object.setPrototypeOf(builtin(g), pick(g, [Object.prototype, null, Array.prototype]));
      break;
    case 5:
      o = [1, 2, 3].values();
      break;
    case 6:
      o = new Secret(value(g, depth + 1));
      break;
    case 7:
      o = new Point(value(g, depth + 1), value(g, depth + 1));
      break;
    default:
      o = Object.setPrototypeOf(branded("Map", new Map([[1, 2]])), Object.prototype);
  }
  g.pool.push(o);
  return o;
}

/**
 * V8 formats an error's stack when it is first read, reading `name` and `message`, which
 * may be getters by then: read it now, so that the comparison never runs a getter.
 */
function formatStack(e) {
  void e.stack;
}

function chain(g, n) {
  let v = leaf(g);
  for (let i = 0; i < n; i++) v = i % 2 ? { d: v } : [v];
  return v;
}

function unclonable(g) {
  const label = "u" + g.labels.n++;
  switch (int(g, 19)) {
    case 0: {
      const f = () => label;
      fnLabels.set(f, label);
      return f;
    }
    case 1:
      return function named() {};
    case 2:
      return class Local {};
    case 3:
      return Symbol(label);
    case 4:
      return Symbol.iterator;
    case 5:
      return branded("WeakMap", new WeakMap());
    case 6:
      return branded("WeakSet", new WeakSet());
    case 7:
      return branded("WeakRef", new WeakRef(Point.prototype));
    case 8:
      return Promise.resolve(label);
    case 9:
      return (function* () {})();
    case 10:
    case 11:
      return proxy(g, label);
    case 12:
      return new Event(label);
    case 13:
      return branded("Symbol", Object(Symbol(label)));
    case 14:
      return branded("SharedArrayBuffer", new SharedArrayBuffer(8));
    case 15:
      return otherChannel.port1;
    case 16: {
      const b = branded("ArrayBuffer", new ArrayBuffer(8));
      b.transfer();
      return b;
    }
    case 17:
      return new AbortController().signal;
    default:
      return async () => {};
  }
}

function proxy(g, label) {
  const log = g.log;
  const handler = {};
  for (const trap of ["get", "getOwnPropertyDescriptor", "ownKeys", "has", "getPrototypeOf"]) {
    handler[trap] = (...args) => {
      log.push(label + ":" + trap);
      return Reflect[trap](...args);
    };
  }
  const target = pick(g, [() => ({ a: 1 }), () => [1, 2], () => function () {}])();
  const p = new Proxy(target, handler);
  opaque.set(p, label);
  return p;
}

/**
 * Runs `make` inside a getter: errors made there get no stack, which would name the frames of
 * structuredClone or postMessage and so differ between the two builds.
 */
function quietly(make) {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

let getterDepth = 0;

/** A getter (sometimes with a setter) for a property of `holder`, with a random behaviour. */
function accessor(g, depth, holder) {
  const label = "g" + g.labels.n++;
  const log = g.log;
  let body;
  const r = int(g, 100);
  if (r < 20) {
    const v = value(g, depth + 1);
    body = function () {
      log.push(label);
      return v;
    };
  } else if (r < 32) {
    const seed = int(g, 2 ** 31);
    body = function () {
      log.push(label + " fresh");
      return quietly(() => value(fork(g, seed), depth + 1));
    };
  } else if (r < 44) {
    let calls = 0;
    body = function () {
      calls++;
      log.push(label + " call " + calls);
      return calls;
    };
  } else if (r < 52) {
    body = function () {
      log.push(label + " this");
      return this === holder;
    };
  } else if (r < 88) {
    const target = chance(g, 0.4) || g.pool.length === 0 ? holder : pick(g, g.pool);
    const op = int(g, 12);
    const arg = int(g, 1e9);
    body = function () {
      log.push(label + " mutates " + op);
      mutate(g, target, op, arg, label);
      return arg % 100;
    };
  } else {
    const kind = int(g, 6);
    body = function () {
      log.push(label + " throws");
      const e = thrown(kind, label);
      g.thrown.last = e;
      throw e;
    };
  }
  // Getters that call getters (a mutation reads an accessor; unshift reads the element whose
  // getter runs it), directly or not (a getter's value is converted to a string by a method
  // that reads the getter again), stop a few levels down or after many calls: a stack
  // overflow would come at a depth that depends on the caller's frames, which differ between
  // structuredClone and postMessage.
  const get = function () {
    if (getterDepth >= 3 || ++g.calls.n > 100) {
      log.push(label + " spent");
      return "spent";
    }
    getterDepth++;
    try {
      return Reflect.apply(body, this, []);
    } finally {
      getterDepth--;
    }
  };
  fnLabels.set(get, label);
  const descriptor = { get, enumerable: chance(g, 0.85), configurable: chance(g, 0.9) };
  if (chance(g, 0.15)) {
    descriptor.set = function (v) {};
    fnLabels.set(descriptor.set, label + " set");
  }
  if (chance(g, 0.05)) {
    delete descriptor.get;
    descriptor.set = function (v) {};
    fnLabels.set(descriptor.set, label + " set only");
  }
  return descriptor;
}

function thrown(kind, label) {
  switch (kind) {
    case 0:
      return new Error("thrown by " + label);
    case 1:
      return new TypeError("thrown by " + label);
    case 2:
      return "thrown by " + label;
    case 3:
      return { thrownBy: label };
    case 4:
      // Not the serializer's DataCloneError, though it looks like one.
      return new DOMException("a getter's own", "DataCloneError");
    default:
      return 42;
  }
}

/** `target.length` without running getters: a number, undefined, or "accessor". */
function lengthOf(target) {
  for (let o = target; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Reflect.getOwnPropertyDescriptor(o, "length");
    if (d !== undefined) return "value" in d ? d.value : "accessor";
  }
  return undefined;
}

/** What a getter does to `target`: anything a script might (strict mode: failures throw). */
function mutate(g, target, op, arg, label) {
  const keys = Reflect.ownKeys(target).filter((k) => typeof k === "string");
  const k = keys.length > 0 ? keys[arg % keys.length] : "none";
  // Array methods may visit every index below the length: only where it is small.
  const length = lengthOf(target);
  const small = length === undefined || (typeof length === "number" && length <= 1000);
  if (op >= 5 && op <= 8 && !small) op = 2;
  switch (op) {
    case 0:
    case 1:
      delete target[k];
      break;
    case 2:
      target["added " + label] = arg % 3 === 0 ? arg : { by: label };
      break;
    case 3: {
      const descriptor = { value: "redefined by " + label, enumerable: arg % 2 === 0, writable: true, configurable: true };
      Object.defineProperty(target, k, descriptor);
      break;
    }
    case 4: {
      const get = () => {
        g.log.push(label + " redefined getter");
        return "late " + label;
      };
      fnLabels.set(get, label + " redefined getter");
      Object.defineProperty(target, k, { get, enumerable: true, configurable: true });
      break;
    }
    case 5:
      Array.prototype.push.call(target, label, { pushed: label });
      break;
    case 6:
      Array.prototype.pop.call(target);
      break;
    case 7:
      target.length = arg % 4;
      break;
    case 8:
      Array.prototype.unshift.call(target, label);
      break;
    case 9:
      if (target instanceof Map) {
        if (arg % 3 === 0) target.clear();
        else if (arg % 3 === 1) target.set("added " + label, { by: label });
        else target.delete(target.keys().next().value);
      } else if (target instanceof Set) {
        if (arg % 2 === 0) target.add({ by: label });
        else target.delete(target.values().next().value);
      } else {
        Object.setPrototypeOf(target, null);
      }
      break;
    case 10:
      if (target instanceof ArrayBuffer) target.transfer();
      else if (ArrayBuffer.isView(target)) target.buffer.transfer();
      else Object.freeze(target);
      break;
    default:
      target[k] = quietly(() => value(fork(g, arg), 1));
  }
}

// ---------------------------------------------------------------------------------------------
// The comparison: a parallel walk that must find the two values isomorphic, object for object.

const uncurry = (f) => (self, ...args) => Reflect.apply(f, self, args);
const getter = (proto, name) => uncurry(Object.getOwnPropertyDescriptor(proto, name).get);
const TypedArray = Object.getPrototypeOf(Uint8Array);
const typedArrayTag = getter(TypedArray.prototype, Symbol.toStringTag);
const typedArrayBuffer = getter(TypedArray.prototype, "buffer");
const typedArrayOffset = getter(TypedArray.prototype, "byteOffset");
const typedArrayLength = getter(TypedArray.prototype, "length");
const typedArrayByteLength = getter(TypedArray.prototype, "byteLength");
const bufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
const bufferMaxByteLength = getter(ArrayBuffer.prototype, "maxByteLength");
const bufferResizable = getter(ArrayBuffer.prototype, "resizable");
const bufferDetached = getter(ArrayBuffer.prototype, "detached");
const sharedByteLength = getter(SharedArrayBuffer.prototype, "byteLength");
const dataViewBuffer = getter(DataView.prototype, "buffer");
const dataViewOffset = getter(DataView.prototype, "byteOffset");
const dataViewByteLength = getter(DataView.prototype, "byteLength");
const regExpSource = getter(RegExp.prototype, "source");
const regExpGlobal = getter(RegExp.prototype, "global");
// Not RegExp.prototype.flags: it reads each flag with a property lookup, which own
// properties could answer.
const regExpFlagGetters = [
  ["d", "hasIndices"], ["g", "global"], ["i", "ignoreCase"], ["m", "multiline"],
  ["s", "dotAll"], ["u", "unicode"], ["v", "unicodeSets"], ["y", "sticky"],
].map(([flag, name]) => [flag, getter(RegExp.prototype, name)]);
const regExpFlags = (x) => regExpFlagGetters.map(([flag, get]) => (get(x) ? flag : "")).join("");
const dateTime = uncurry(Date.prototype.getTime);
const mapSize = getter(Map.prototype, "size");
const setSize = getter(Set.prototype, "size");
const mapForEach = uncurry(Map.prototype.forEach);
const setForEach = uncurry(Set.prototype.forEach);
const functionSource = uncurry(Function.prototype.toString);

/** Brand checks: each throws for an object of another kind, and runs no user code. */
const BRANDS = {
  Date: dateTime,
  RegExp: (x) => {
    if (x === RegExp.prototype) throw new TypeError("not a RegExp");
    regExpGlobal(x);
  },
  Map: mapSize,
  Set: setSize,
  WeakMap: (x) => WeakMap.prototype.has.call(x, {}),
  WeakSet: (x) => WeakSet.prototype.has.call(x, {}),
  WeakRef: uncurry(WeakRef.prototype.deref),
  ArrayBuffer: bufferByteLength,
  SharedArrayBuffer: sharedByteLength,
  Number: uncurry(Number.prototype.valueOf),
  String: uncurry(String.prototype.valueOf),
  Boolean: uncurry(Boolean.prototype.valueOf),
  BigInt: uncurry(BigInt.prototype.valueOf),
  Symbol: uncurry(Symbol.prototype.valueOf),
};
const KIND_OF_PROTOTYPE = new Map(Object.keys(BRANDS).map((kind) => [globalThis[kind].prototype, kind]));

/**
 * The kind of an object. Builtins a build made are in `kinds`; any other object with the
 * prototype of a kind must pass its brand check. (Failed checks throw, which is slow, so not
 * every object is tried against every brand.)
 */
function kindOf(x) {
  if (Array.isArray(x)) return "Array";
  if (ArrayBuffer.isView(x)) return typedArrayTag(x) ?? "DataView";
  if (Error.isError(x)) return "Error";
  const known = kinds.get(x);
  if (known !== undefined) return known;
  const kind = KIND_OF_PROTOTYPE.get(Object.getPrototypeOf(x));
  if (kind === undefined) return "Object";
  try {
    BRANDS[kind](x);
    return kind;
  } catch {
    return "Object";
  }
}

const isTypedArray = (kind) => TYPED.some((C) => C.name === kind);

const attempt = (f, x) => {
  try {
    return f(x);
  } catch (e) {
    return "throws " + e.name;
  }
};

function bytesOf(buffer, length) {
  let s = "";
  const view = new Uint8Array(buffer, 0, length);
  for (let i = 0; i < view.length; i++) s += view[i].toString(16).padStart(2, "0");
  return s;
}

/** The internal state of `x` besides its properties, as primitives. */
function facts(x, kind) {
  switch (kind) {
    case "Date":
      return [dateTime(x)];
    case "RegExp":
      return [regExpSource(x), regExpFlags(x)];
    case "Number":
    case "String":
    case "Boolean":
    case "BigInt":
      return [BRANDS[kind](x)];
    case "Symbol":
      return [String(BRANDS.Symbol(x))];
    case "Map":
      return [mapSize(x)];
    case "Set":
      return [setSize(x)];
    case "ArrayBuffer": {
      const n = bufferByteLength(x);
      const detached = bufferDetached(x);
      return [n, bufferResizable(x), bufferMaxByteLength(x), detached, detached ? "" : bytesOf(x, n)];
    }
    case "SharedArrayBuffer": {
      const n = sharedByteLength(x);
      return [n, bytesOf(x, n)];
    }
    case "DataView":
      return [attempt(dataViewOffset, x), attempt(dataViewByteLength, x)];
    default:
      return isTypedArray(kind) ? [typedArrayOffset(x), typedArrayLength(x), typedArrayByteLength(x)] : [];
  }
}

/** Values inside `x` other than its properties, labelled. */
function children(x, kind) {
  const list = [];
  if (kind === "Map") {
    mapForEach(x, (v, k) => list.push(["key", k], ["value of", v]));
  } else if (kind === "Set") {
    setForEach(x, (v) => list.push(["member", v]));
  } else if (kind === "DataView") {
    list.push(["buffer", dataViewBuffer(x)]);
  } else if (isTypedArray(kind)) {
    list.push(["buffer", typedArrayBuffer(x)]);
  } else if (kind === "Error") {
    // The stack is an own accessor; its getter is V8's unless a build replaced it.
    const d = Reflect.getOwnPropertyDescriptor(x, "stack");
    if (d !== undefined && d.get !== undefined && !fnLabels.has(d.get)) {
      list.push(["stack", Reflect.apply(d.get, x, [])]);
    }
  }
  return list;
}

/** Own keys, without a typed array's indices (its buffer stands for them). */
function ownKeys(x, kind) {
  const keys = Reflect.ownKeys(x);
  return isTypedArray(kind) ? keys.slice(typedArrayLength(x)) : keys;
}

function keyName(k) {
  if (typeof k !== "symbol") return JSON.stringify(k);
  return `@@${k.description}${Symbol.keyFor(k) !== undefined ? " (registered)" : ""}`;
}

function show(v) {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "bigint") return v + "n";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "symbol") return String(v);
  if (typeof v === "function") return "function " + (fnLabels.get(v) ?? v.name);
  if (v === null || typeof v !== "object") return String(v);
  if (opaque.has(v)) return "Proxy " + opaque.get(v);
  return kindOf(v);
}

function sameFunction(f, h) {
  const lf = fnLabels.get(f);
  const lh = fnLabels.get(h);
  if (lf !== undefined || lh !== undefined) return lf === lh;
  return functionSource(f) === functionSource(h);
}

/** "" if `x` and `y` are the same up to identity, else where and how they differ. */
function differ(x, y, walk = { left: new Map(), right: new Map(), next: 0 }, path = "value") {
  const different = () => `${path}: ${show(x)} vs ${show(y)}`;
  if (typeof x !== typeof y) return different();
  if (typeof x === "symbol") return keyName(x) === keyName(y) ? "" : different();
  const isObject = (typeof x === "object" && x !== null) || typeof x === "function";
  if (!isObject || y === null) return Object.is(x, y) ? "" : different();
  // Intrinsics, and objects both builds share.
  if (x === y) return "";
  const idX = walk.left.get(x);
  const idY = walk.right.get(y);
  if (idX !== undefined || idY !== undefined) {
    return idX === idY ? "" : `${path}: aliasing differs (object #${idX} vs #${idY})`;
  }
  walk.left.set(x, walk.next);
  walk.right.set(y, walk.next++);
  if (opaque.has(x) || opaque.has(y)) return opaque.get(x) === opaque.get(y) ? "" : different();
  if (typeof x === "function") return sameFunction(x, y) ? "" : different();
  const kind = kindOf(x);
  if (kindOf(y) !== kind) return different();
  const fx = facts(x, kind);
  const fy = facts(y, kind);
  if (fx.length !== fy.length || fx.some((f, i) => !Object.is(f, fy[i]))) {
    return `${path}: ${kind} [${fx.map(show)}] vs [${fy.map(show)}]`;
  }
  const cx = children(x, kind);
  const cy = children(y, kind);
  if (cx.length !== cy.length) return `${path}: ${cx.length} vs ${cy.length} entries`;
  for (let i = 0; i < cx.length; i++) {
    const d = differ(cx[i][1], cy[i][1], walk, `${path}.<${cx[i][0]} ${i}>`);
    if (d) return d;
  }
  const proto = differ(Object.getPrototypeOf(x), Object.getPrototypeOf(y), walk, path + ".[[Prototype]]");
  if (proto) return proto;
  if (Object.isExtensible(x) !== Object.isExtensible(y)) {
    return `${path}: extensible ${Object.isExtensible(x)} vs ${Object.isExtensible(y)}`;
  }
  const kx = ownKeys(x, kind);
  const ky = ownKeys(y, kind);
  const namesX = kx.map(keyName).join();
  const namesY = ky.map(keyName).join();
  if (namesX !== namesY) return `${path}: keys [${namesX}] vs [${namesY}]`;
  for (let i = 0; i < kx.length; i++) {
    const at = `${path}[${keyName(kx[i])}]`;
    const dx = Reflect.getOwnPropertyDescriptor(x, kx[i]);
    const dy = Reflect.getOwnPropertyDescriptor(y, ky[i]);
    for (const field of ["writable", "enumerable", "configurable"]) {
      if (dx[field] !== dy[field]) return `${at}: ${field} ${dx[field]} vs ${dy[field]}`;
    }
    const data = (d) => ("value" in d ? "data" : "accessor");
    if (data(dx) !== data(dy)) return `${at}: ${data(dx)} vs ${data(dy)}`;
    const d = "value" in dx
      ? differ(dx.value, dy.value, walk, at)
      : differ(dx.get, dy.get, walk, at + ".get") || differ(dx.set, dy.set, walk, at + ".set");
    if (d) return d;
  }
  return "";
}

/** A readable form of a value, for the report of a mismatch (reads no getters). */
function dump(root, limit = 4000) {
  const ids = new Map();
  let out = 0;
  const walk = (x, depth) => {
    if (out > limit) return "…";
    if ((typeof x !== "object" || x === null) && typeof x !== "function") {
      const s = show(x);
      out += s.length;
      return s;
    }
    if (ids.has(x)) return `#${ids.get(x)}`;
    if (opaque.has(x) || typeof x === "function") return show(x);
    ids.set(x, ids.size);
    const kind = kindOf(x);
    const proto = Object.getPrototypeOf(x);
    const ctor = proto === null ? undefined : Reflect.getOwnPropertyDescriptor(proto, "constructor")?.value;
    const own = proto === null ? "null" : typeof ctor === "function" && ctor.prototype === proto ? ctor.name : "?";
    let head = `#${ids.get(x)}=${kind}`;
    if (own !== kind) head += `<proto ${ids.has(proto) ? "#" + ids.get(proto) : own}>`;
    const f = facts(x, kind);
    if (f.length > 0) head += `(${f.map(show).join(" ")})`;
    if (kind === "Array") head += `(length ${x.length})`;
    if (!Object.isExtensible(x)) {
      head += Object.isFrozen(x) ? " frozen" : Object.isSealed(x) ? " sealed" : " non-extensible";
    }
    if (depth > 12) return head + " {…}";
    const parts = children(x, kind).map(([label, v]) => `<${label}> ${walk(v, depth + 1)}`);
    for (const k of ownKeys(x, kind)) {
      if (kind === "Array" && k === "length") continue;
      const d = Reflect.getOwnPropertyDescriptor(x, k);
      const flags = (d.enumerable ? "" : "!e") + (d.writable === false ? "!w" : "") + (d.configurable ? "" : "!c");
      const name = keyName(k) + (flags ? ` ${flags}` : "");
      if ("value" in d) {
        parts.push(`${name}: ${walk(d.value, depth + 1)}`);
      } else {
        const fns = [d.get, d.set].filter((fn) => fn !== undefined).map((fn) => fnLabels.get(fn) ?? "native");
        parts.push(`${name}: accessor(${fns.join(", ")})`);
      }
    }
    const s = `${head} {${parts.join(", ")}}`;
    out += s.length;
    return s;
  };
  return walk(root, 0);
}

/** How a clone or a post failed, comparable between the two builds. */
function failure(e, g) {
  const own = e === g.thrown.last ? "the getter's own " : "";
  if (typeof e !== "object" || e === null) return `${own}${typeof e} ${show(e)}`;
  const ctor = Object.getPrototypeOf(e)?.constructor?.name;
  const dom = e instanceof DOMException ? "a DOMException" : "not a DOMException";
  return `${own}${ctor} ${e.name}: ${e.message} (${dom})`;
}

// ---------------------------------------------------------------------------------------------
// The run.

const { port1, port2 } = new MessageChannel();
const inbox = [];
let waiting = null;
port2.onmessage = (e) => {
  if (waiting !== null) {
    const resolve = waiting;
    waiting = null;
    resolve(e.data);
  } else {
    inbox.push(e.data);
  }
};
// A message the receiver could not deserialize (see `deserializeFailed`) fires messageerror.
const LOST = Symbol("messageerror");
port2.onmessageerror = () => port2.onmessage({ data: LOST });
const next = () => {
  if (inbox.length > 0) return Promise.resolve(inbox.shift());
  return new Promise((resolve) => (waiting = resolve));
};

const counts = {
  copyable: 0, "getter-free": 0, wild: 0,
  delivered: 0, dataCloneErrors: 0, getterThrows: 0, getterCalls: 0, undeserializable: 0,
};
// V8's serializer can write data its deserializer refuses: when a getter resizes an ArrayBuffer
// after it was written, a view written later may reach past it (Node does the same). Then
// structuredClone throws (V8's "Unable to deserialize cloned data."), while
// postMessage (HTML: serialize now, deserialize on delivery) sends the message and the receiver
// gets messageerror. Both serialized alike (the getter logs are compared), so a throw that is
// not a getter's own came from deserializing.
const deserializeFailed = (e, g) => !failure(e, g).startsWith("the getter's own");
let mismatches = 0;
const reports = [];

function report(i, seed, problems) {
  mismatches++;
  if (reports.length < SHOW) {
    let mode = "?";
    let value;
    try {
      const rebuilt = build(seed, []);
      mode = rebuilt.mode;
      value = dump(rebuilt.root);
    } catch (e) {
      value = `not rebuilt: ${e}`;
    }
    reports.push({ i, seed, mode, problems, value });
  }
}

async function check(i, seed) {
  const logs = [[], []];
  const builds = [];
  // One call site for both builds: errors made while building get the same stack.
  for (const log of logs) builds.push(build(seed, log));
  const [viaClone, viaPost] = builds;
  counts[viaClone.mode]++;

  let expected, expectedError;
  let threwExpected = false;
  try {
    expected = structuredClone(viaClone.root);
  } catch (e) {
    threwExpected = true;
    expectedError = e;
  }
  let gotError;
  let threwGot = false;
  try {
    port1.postMessage(viaPost.root);
  } catch (e) {
    threwGot = true;
    gotError = e;
  }
  // Messages keep their order: whatever the post delivers comes before this one.
  const sentinel = "\0sentinel " + i;
  port1.postMessage(sentinel);
  const problems = [];
  let got;
  let lost = false;
  const first = await next();
  if (threwGot) {
    if (first !== sentinel) problems.push("postMessage threw, yet a message was delivered");
  } else if (first === sentinel) {
    problems.push("postMessage did not throw, yet nothing was delivered");
  } else if (first === LOST) {
    if ((await next()) !== sentinel) problems.push("more than one message was delivered");
    if (threwExpected && deserializeFailed(expectedError, viaClone.g)) {
      counts.undeserializable++;
      lost = true;
      threwGot = true; // matched: nothing more to compare
      gotError = expectedError;
    } else {
      problems.push("the receiver got messageerror, but structuredClone did not fail to deserialize");
    }
  } else {
    got = first;
    if ((await next()) !== sentinel) problems.push("more than one message was delivered");
  }
  inbox.length = 0;

  if (threwExpected !== threwGot) {
    problems.push(
      threwExpected
        ? `structuredClone threw ${failure(expectedError, viaClone.g)}, postMessage did not`
        : `postMessage threw ${failure(gotError, viaPost.g)}, structuredClone did not`,
    );
  } else if (threwExpected) {
    const a = failure(expectedError, viaClone.g);
    const b = failure(gotError, viaPost.g);
    if (a !== b) problems.push(`structuredClone threw ${a}, postMessage threw ${b}`);
    if (a.startsWith("DOMException DataCloneError")) counts.dataCloneErrors++;
    else if (!lost) counts.getterThrows++;
  } else if (problems.length === 0) {
    counts.delivered++;
    const d = differ(expected, got);
    if (d) problems.push(`the delivered value differs from structuredClone's: ${d}`);
  }
  counts.getterCalls += logs[0].length;
  let call = 0;
  while (call < Math.max(logs[0].length, logs[1].length) && logs[0][call] === logs[1][call]) call++;
  if (call < Math.max(logs[0].length, logs[1].length)) {
    const around = (log) => `[${log.slice(Math.max(0, call - 3), call + 3).join(", ")}] of ${log.length}`;
    problems.push(
      `getter logs differ from call ${call}: structuredClone ${around(logs[0])}, ` +
        `postMessage ${around(logs[1])}`,
    );
  }
  // Everything a build made, whether or not the value still reaches it.
  const made = (b) => [b.root, b.g.pool, b.g.closed, b.g.buffers, b.g.labels.n];
  const d = differ(made(viaClone), made(viaPost), undefined, "originals");
  if (d) problems.push(`the originals differ after cloning: ${d}`);

  if (problems.length > 0) report(i, seed, problems);
}

(async () => {
  for (let i = 0; i < COUNT; i++) {
    const seed = (SEED + Math.imul(i, 0x9e3779b9)) >>> 0;
    try {
      await check(i, seed);
    } catch (e) {
      report(i, seed, [`the check failed: ${e.stack}`]);
      // Whatever this value's post delivered must not be taken for the next one's.
      const resync = "\0resync " + i;
      port1.postMessage(resync);
      while ((await next()) !== resync);
    }
  }
  console.log(`checked ${COUNT} values, ${mismatches} mismatches`);
  const c = counts;
  console.log(
    `modes: ${c.copyable} copyable, ${c["getter-free"]} getter-free, ${c.wild} wild; ` +
      `${c.delivered} delivered, ${c.dataCloneErrors} DataCloneError, ` +
      `${c.getterThrows} thrown by getters, ${c.getterCalls} getter calls, ` +
      `${c.undeserializable} undeserializable`,
  );
  for (const r of reports) {
    console.log(
      `value ${r.i} (${r.mode}; to build it first: V8MC_COPY_FUZZ_SEED=${r.seed} ` +
        "V8MC_COPY_FUZZ_VALUES=1 cargo test -- --ignored copy::many):",
    );
    for (const p of r.problems) console.log("  " + p);
    console.log("  value: " + r.value);
  }
  port1.close();
  otherChannel.port1.close();
})().catch((e) => console.log("the fuzz script failed:", e, e.stack));
"##;
