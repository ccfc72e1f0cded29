//! Micro-benchmarks of the message path, runnable without any other runtime installed:
//! `cargo bench --bench micro`. Most build an isolate with the extension installed (the public
//! `install` + `run_tasks` API, as an embedder would) and time one operation; the large-buffer
//! ones use a `Runtime`, whose isolate has the allocator the one-copy path needs.

use v8_message_channel::{Compat, Poll, Runtime, RuntimeOptions, install_with_output, run_tasks};

fn main() {
  v8_message_channel::init_v8();
  divan::main();
}

/// An isolate with the extension and a script already run; calls `f` with a scope.
fn with_context(setup: &str, f: impl FnOnce(&mut v8::PinScope<'_, '_>)) {
  let mut isolate = v8::Isolate::new(Default::default());
  isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
  v8::scope!(let scope, &mut isolate);
  let context = v8::Context::new(scope, Default::default());
  install_with_output(
    scope,
    context,
    &Compat::latest(),
    std::rc::Rc::new(|_, _| {}),
  )
  .unwrap();
  let scope = &mut v8::ContextScope::new(scope, context);
  let code = v8::String::new(scope, setup).unwrap();
  v8::Script::compile(scope, code, None)
    .unwrap()
    .run(scope)
    .unwrap();
  f(scope);
}

/// Like [`with_context`], in a [`Runtime`]'s isolate and context.
fn with_runtime(setup: &str, f: impl FnOnce(&mut v8::PinScope<'_, '_>)) {
  let mut runtime = Runtime::new(RuntimeOptions {
    output: Some(std::rc::Rc::new(|_, _| {})),
    ..Default::default()
  })
  .unwrap();
  runtime.execute_script("setup.js", setup).unwrap();
  runtime.with_context(f);
}

fn global_function<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  name: &str,
) -> v8::Local<'s, v8::Function> {
  let global = scope.get_current_context().global(scope);
  let key = v8::String::new(scope, name).unwrap();
  let value = global.get(scope, key.into()).unwrap();
  v8::Local::<v8::Function>::try_from(value).unwrap()
}

/// Times calls of the global function `name`; with `deliver`, each call is followed by the
/// event-loop turn that delivers what it posted.
fn bench_call(
  bencher: divan::Bencher,
  scope: &mut v8::PinScope<'_, '_>,
  name: &str,
  deliver: bool,
) {
  let function = global_function(scope, name);
  let recv = v8::undefined(scope).into();
  bencher.bench_local(|| {
    {
      v8::scope!(let scope, scope);
      function.call(scope, recv, &[]).unwrap();
    }
    if deliver {
      assert_eq!(run_tasks(scope), Poll::Done);
    }
  });
}

const SMALL: &str = "globalThis.msg = { i: 1, s: 'hello', a: [1, 2, 3] };";

/// structuredClone of the `throughput` message: one ValueSerializer/Deserializer round trip.
#[divan::bench]
fn structured_clone_small(bencher: divan::Bencher) {
  with_context(
    &format!("{SMALL} globalThis.f = () => structuredClone(msg);"),
    |scope| bench_call(bencher, scope, "f", false),
  );
}

/// structuredClone of a 1 MiB Uint8Array (the `bytes` payload) in a Runtime: one copy. Many
/// samples: until V8's first scavenge (after 64 MiB of buffers) every copy lands on fresh pages.
#[divan::bench(sample_count = 1000)]
fn structured_clone_1mib(bencher: divan::Bencher) {
  with_runtime(
    "globalThis.big = new Uint8Array(1 << 20); globalThis.f = () => structuredClone(big);",
    |scope| bench_call(bencher, scope, "f", false),
  );
}

/// One postMessage and its delivery: serialize, queue, one event-loop turn, deserialize,
/// MessageEvent, dispatch to onmessage, microtask checkpoint.
#[divan::bench]
fn post_and_dispatch_one(bencher: divan::Bencher) {
  let setup = format!(
    "{SMALL} const {{ port1, port2 }} = new MessageChannel(); let n = 0;
     port2.onmessage = (e) => {{ n += e.data.i; }};
     globalThis.post = () => port1.postMessage(msg);"
  );
  with_context(&setup, |scope| bench_call(bencher, scope, "post", true));
}

/// postMessage alone (serialize and queue; delivery not measured).
#[divan::bench]
fn post_only(bencher: divan::Bencher) {
  let setup = format!(
    "{SMALL} const {{ port1, port2 }} = new MessageChannel();
     globalThis.post = () => port1.postMessage(msg);"
  );
  with_context(&setup, |scope| bench_call(bencher, scope, "post", false));
}

/// One 1 MiB postMessage and its delivery in a Runtime (the one-copy path of `bytes`).
#[divan::bench(sample_count = 1000)]
fn post_and_dispatch_1mib(bencher: divan::Bencher) {
  let setup = "const big = new Uint8Array(1 << 20); const { port1, port2 } = new MessageChannel();
     let n = 0; port2.onmessage = (e) => { n += e.data[0]; };
     globalThis.post = () => port1.postMessage(big);";
  with_runtime(setup, |scope| bench_call(bencher, scope, "post", true));
}
