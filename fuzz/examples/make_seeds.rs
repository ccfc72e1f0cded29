//! Writes the seed corpus of the `serialized_message` target: what V8's `ValueSerializer` (the
//! same V8 as the product's) makes of a few dozen typical values, one file each, named by the
//! value's index. A value holding an object with an own `__host` property writes it as a host
//! object (what a transferred MessagePort becomes, index 0), `__transfer` buffers go by
//! reference (transferred), and SharedArrayBuffers by id 0: those arrive without what they name,
//! so they exercise the receiver's `messageerror` path.
//!
//! `cargo run --example make_seeds -- fuzz/corpus/serialized_message` (scripts/fuzz runs it).

use fuzz_support::with_scope;
use std::path::PathBuf;
use v8::ValueSerializerHelper;
use v8_message_channel::{Runtime, RuntimeOptions};

/// JS expressions, each evaluated and serialized into one seed.
const VALUES: &[&str] = &[
  "undefined",
  "null",
  "true",
  "false",
  "0",
  "-0",
  "42",
  "-1",
  "2 ** 31",
  "2 ** 53 + 2",
  "3.14159",
  "NaN",
  "-Infinity",
  "123n",
  "-(2n ** 100n)",
  "''",
  "'hello'",
  "'caf\\u00e9 \\u{1F600}'",
  "'\\ud800 lone surrogate'",
  "'x'.repeat(300)",
  "new Number(7)",
  "new String('boxed')",
  "new Boolean(false)",
  "Object(5n)",
  "new Date(0)",
  "new Date(NaN)",
  "/ab+c/gimsuy",
  "/[\\u{1F600}]/v",
  "({})",
  "({ a: 1, b: 'two', c: [3], d: { e: null } })",
  "({ 1: 'index', x: 'named', [2 ** 32]: 'big index' })",
  "[]",
  "[1, 2, 3]",
  "[1.5, 'mixed', true, null, undefined]",
  "[, , 3, ,]",
  "(() => { const a = [1]; a[1000] = 2; return a; })()",
  "(() => { const a = []; a.length = 2 ** 32 - 1; a.x = 1; return a; })()",
  "(() => { const o = { name: 'cycle' }; o.self = o; return o; })()",
  "(() => { const s = { shared: true }; return [s, s, { s }]; })()",
  "new Map([[1, 'one'], ['two', 2], [{}, []]])",
  "new Set([1, 'a', null, {}])",
  "(() => { const m = new Map(); m.set(m, m); return m; })()",
  "new ArrayBuffer(0)",
  "new Uint8Array([1, 2, 3, 255]).buffer",
  "new ArrayBuffer(8, { maxByteLength: 64 })",
  "new Uint8Array([0, 1, 2])",
  "new Int16Array([-1, 2, -3])",
  "new Uint32Array(4).subarray(1, 3)",
  "new Float32Array([1.5, NaN])",
  "new Float64Array([Math.PI])",
  "new BigInt64Array([-1n, 2n])",
  "new BigUint64Array([2n ** 64n - 1n])",
  "new Uint8ClampedArray([300])",
  "new Float16Array([0.5])",
  "new DataView(new ArrayBuffer(16), 4, 8)",
  "(() => { const b = new ArrayBuffer(16); return [new Uint8Array(b), new Int32Array(b, 4, 2)]; })()",
  "new Uint8Array(new ArrayBuffer(8, { maxByteLength: 32 }))",
  "new Error('plain')",
  "new TypeError('typed', { cause: 42 })",
  "new RangeError('range')",
  "Object.assign(new SyntaxError('syntax'), { extra: 1 })",
  "new EvalError()",
  "new URIError('uri')",
  "new SharedArrayBuffer(8)",
  "new Int32Array(new SharedArrayBuffer(16))",
  "({ port: { __host: true } })",
  "[{ __host: true }, { __host: true }]",
  "({ __transfer: new ArrayBuffer(4) })",
  "({ __transfer: new Uint8Array(8) })",
  "(() => { let v = { end: true }; for (let i = 0; i < 20; i++) v = [v]; return { deep: v }; })()",
  "({ event: 'message', data: { seq: 1, payload: [1, 'two', { three: 3n }] } })",
  "Array.from({ length: 100 }, (_, i) => i * i)",
  "Object.fromEntries(Array.from({ length: 40 }, (_, i) => ['k' + i, i]))",
  "new Map(Array.from({ length: 20 }, (_, i) => [i, String(i)]))",
];

struct Delegate;

impl v8::ValueSerializerImpl for Delegate {
  fn throw_data_clone_error<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    message: v8::Local<'s, v8::String>,
  ) {
    let error = v8::Exception::error(scope, message);
    scope.throw_exception(error);
  }

  fn has_custom_host_object(&self, _isolate: &v8::Isolate) -> bool {
    true
  }

  fn is_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
  ) -> Option<bool> {
    let key = v8::String::new(scope, "__host")?;
    object.has_own_property(scope, key.into())
  }

  fn write_host_object<'s>(
    &self,
    _scope: &mut v8::PinScope<'s, '_>,
    _object: v8::Local<'s, v8::Object>,
    serializer: &dyn v8::ValueSerializerHelper,
  ) -> Option<bool> {
    serializer.write_uint32(0);
    Some(true)
  }

  fn get_shared_array_buffer_id<'s>(
    &self,
    _scope: &mut v8::PinScope<'s, '_>,
    _buffer: v8::Local<'s, v8::SharedArrayBuffer>,
  ) -> Option<u32> {
    Some(0)
  }
}

fn serialize(runtime: &mut Runtime, source: &str) -> Vec<u8> {
  with_scope(runtime, |scope| {
    v8::tc_scope!(let scope, scope);
    let code = v8::String::new(scope, source).expect("source string");
    let value = v8::Script::compile(scope, code, None)
      .and_then(|script| script.run(scope))
      .unwrap_or_else(|| panic!("{source} does not evaluate"));
    let serializer = v8::ValueSerializer::new(scope, Box::new(Delegate));
    // A `__transfer` property's buffer goes by reference, as a transferred buffer does.
    if let Ok(object) = v8::Local::<v8::Object>::try_from(value) {
      let key = v8::String::new(scope, "__transfer").expect("key");
      if let Some(item) = object.get(scope, key.into()) {
        let buffer = if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(item) {
          view.buffer(scope)
        } else {
          v8::Local::<v8::ArrayBuffer>::try_from(item).ok()
        };
        if let Some(buffer) = buffer {
          serializer.transfer_array_buffer(0, buffer);
        }
      }
    }
    serializer.write_header();
    let context = scope.get_current_context();
    if serializer.write_value(context, value) != Some(true) {
      let message = scope
        .exception()
        .map(|exception| exception.to_rust_string_lossy(scope))
        .unwrap_or_default();
      panic!("{source} does not serialize: {message}");
    }
    serializer.release()
  })
}

fn main() {
  let dir = PathBuf::from(
    std::env::args()
      .nth(1)
      .unwrap_or_else(|| "corpus/serialized_message".into()),
  );
  std::fs::create_dir_all(&dir).expect("corpus directory");
  let mut runtime = Runtime::new(RuntimeOptions::default()).expect("runtime starts");
  for (index, source) in VALUES.iter().enumerate() {
    let bytes = serialize(&mut runtime, source);
    std::fs::write(dir.join(format!("seed-{index:03}")), bytes).expect("seed written");
  }
  println!("{} seeds in {}", VALUES.len(), dir.display());
}
