//! Embeds the JS half of the web classes (`js/*.js`) into the library as a table of
//! (specifier, source) pairs in load order, and builds a V8 startup snapshot of a context in which
//! those modules have run, so `Runtime::new` restores the classes instead of compiling them.
//!
//! The snapshot refers to natives by their index in `src/native_names.rs`; here they are
//! stand-ins (only `setHooks` does anything: it keeps the hooks object for the snapshot), and the
//! library restores it with the real natives in the same order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::{env, fs, path::Path};

include!("src/native_names.rs");

const ENTRY_MODULE: &str = "v8mc:99_bootstrap.js";
const BINDINGS_KEY: &str = "__v8mcCore";

fn main() {
  let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
  println!("cargo:rerun-if-changed={}", dir.display());
  println!("cargo:rerun-if-changed=src/native_names.rs");
  // The CLI links as a position-dependent executable on Linux: the dynamic loader then has no
  // 50k relative relocations to apply to the V8 data at each start (startup 0.91 of the time).
  if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
    println!("cargo:rustc-link-arg-bins=-no-pie");
  }
  let mut files: Vec<_> = fs::read_dir(&dir)
    .expect("js/ exists")
    .map(|entry| entry.expect("readable js/ entry").path())
    .filter(|path| path.extension().is_some_and(|ext| ext == "js"))
    .collect();
  files.sort();
  let mut out = String::from("/// The internal modules, sorted by their load-order prefix.\n");
  out.push_str("pub(crate) static JS_SOURCES: &[(&str, &str)] = &[\n");
  let mut sources = Vec::new();
  for path in &files {
    println!("cargo:rerun-if-changed={}", path.display());
    let name = path.file_name().unwrap().to_str().expect("UTF-8 file name");
    out.push_str(&format!(
      "  (\"v8mc:{name}\", include_str!({:?})),\n",
      path.display().to_string()
    ));
    sources.push((
      format!("v8mc:{name}"),
      fs::read_to_string(path).expect("readable js file"),
    ));
  }
  out.push_str("];\n");
  let out_dir = env::var("OUT_DIR").unwrap();
  fs::write(Path::new(&out_dir).join("js_sources.rs"), out).expect("write js_sources.rs");
  let snapshot = create_snapshot(&sources);
  fs::write(Path::new(&out_dir).join("snapshot.bin"), snapshot).expect("write snapshot.bin");
}

thread_local! {
  static MODULES: RefCell<HashMap<String, v8::Global<v8::Module>>> = RefCell::new(HashMap::new());
  static HOOKS: RefCell<Option<v8::Global<v8::Object>>> = const { RefCell::new(None) };
}

/// Stand-in native number N: distinct per index (the snapshot tells natives apart by address).
fn stand_in<const N: usize>(
  scope: &mut v8::PinScope<'_, '_>,
  args: v8::FunctionCallbackArguments<'_>,
  mut rv: v8::ReturnValue<'_, v8::Value>,
) {
  if NATIVE_NAMES[N] == "setHooks" {
    let hooks = v8::Local::<v8::Object>::try_from(args.get(0)).expect("setHooks takes an object");
    HOOKS.with(|h| *h.borrow_mut() = Some(v8::Global::new(scope, hooks)));
  }
  rv.set_int32(N as i32);
}

fn stand_ins() -> Vec<v8::FunctionCallback> {
  use v8::MapFnTo;
  let all: [v8::FunctionCallback; NATIVE_NAMES.len()] = [
    stand_in::<0>.map_fn_to(),
    stand_in::<1>.map_fn_to(),
    stand_in::<2>.map_fn_to(),
    stand_in::<3>.map_fn_to(),
    stand_in::<4>.map_fn_to(),
    stand_in::<5>.map_fn_to(),
    stand_in::<6>.map_fn_to(),
    stand_in::<7>.map_fn_to(),
    stand_in::<8>.map_fn_to(),
    stand_in::<9>.map_fn_to(),
    stand_in::<10>.map_fn_to(),
    stand_in::<11>.map_fn_to(),
    stand_in::<12>.map_fn_to(),
    stand_in::<13>.map_fn_to(),
    stand_in::<14>.map_fn_to(),
    stand_in::<15>.map_fn_to(),
    stand_in::<16>.map_fn_to(),
    stand_in::<17>.map_fn_to(),
  ];
  assert_eq!(all.len(), NATIVE_NAMES.len(), "one stand-in per native");
  all.to_vec()
}

fn resolve<'s>(
  context: v8::Local<'s, v8::Context>,
  specifier: v8::Local<'s, v8::String>,
  _import_attributes: v8::Local<'s, v8::FixedArray>,
  _referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
  // SAFETY: V8 calls this during InstantiateModule on this thread with `context` entered.
  v8::callback_scope!(unsafe scope, context);
  let name = specifier.to_rust_string_lossy(scope);
  MODULES.with(|m| {
    m.borrow()
      .get(&name)
      .map(|module| v8::Local::new(scope, module))
  })
}

// No warm-up run before snapshotting: running the modules' functions against the stand-in
// natives leaves type feedback behind that made the message path ~1.8x slower after restore.
fn create_snapshot(sources: &[(String, String)]) -> Vec<u8> {
  let platform = v8::new_default_platform(0, false).make_shared();
  v8::V8::initialize_platform(platform);
  v8::V8::initialize();
  let refs: Vec<v8::ExternalReference> = stand_ins()
    .into_iter()
    .map(|function| v8::ExternalReference { function })
    .collect();
  let mut creator = v8::Isolate::snapshot_creator(Some(refs.into()), None);
  {
    v8::scope!(let scope, &mut creator);
    let context = v8::Context::new(scope, Default::default());
    let scope = &mut v8::ContextScope::new(scope, context);
    let core = v8::Object::new(scope);
    for (name, callback) in NATIVE_NAMES.iter().zip(stand_ins()) {
      let key = v8::String::new(scope, name).unwrap();
      let function = v8::Function::builder_raw(callback).build(scope).unwrap();
      function.set_name(key);
      core.set(scope, key.into(), function.into());
    }
    let global = context.global(scope);
    let key = v8::String::new(scope, BINDINGS_KEY).unwrap();
    global.set(scope, key.into(), core.into());
    v8::tc_scope!(let scope, scope);
    for (specifier, source) in sources {
      let code = v8::String::new(scope, source).unwrap();
      let name = v8::String::new(scope, specifier).unwrap();
      let origin = v8::ScriptOrigin::new(
        scope,
        name.into(),
        0,
        0,
        false,
        0,
        None,
        false,
        false,
        true,
        None,
      );
      let mut source = v8::script_compiler::Source::new(code, Some(&origin));
      // Lazy: only what the bootstrap runs is compiled into the snapshot; the rest compiles on
      // first call. Eager compilation made the snapshot 10 % larger, and deserializing the
      // bytecode of every function cost more than compiling the few a script calls (start-up
      // of a script making one channel: 0.86-0.92 of the time lazily, paired runs 2026-11-30).
      let module = v8::script_compiler::compile_module2(
        scope,
        &mut source,
        v8::script_compiler::CompileOptions::NoCompileOptions,
        v8::script_compiler::NoCacheReason::NoReason,
      )
      .unwrap_or_else(|| panic!("{specifier} does not compile: {}", exception_text(scope)));
      let module = v8::Global::new(scope, module);
      MODULES.with(|m| m.borrow_mut().insert(specifier.clone(), module));
    }
    let entry = MODULES.with(|m| m.borrow()[ENTRY_MODULE].clone());
    let entry = v8::Local::new(scope, entry);
    if entry.instantiate_module(scope, resolve).is_none() {
      panic!(
        "the internal modules do not link: {}",
        exception_text(scope)
      );
    }
    let promise = entry
      .evaluate(scope)
      .unwrap_or_else(|| panic!("bootstrap threw: {}", exception_text(scope)));
    scope.perform_microtask_checkpoint();
    let promise = v8::Local::<v8::Promise>::try_from(promise).unwrap();
    assert_eq!(
      promise.state(),
      v8::PromiseState::Fulfilled,
      "bootstrap did not complete"
    );
    global.delete(scope, key.into());
    let hooks = HOOKS
      .with(|h| h.borrow_mut().take())
      .expect("bootstrap called setHooks");
    let hooks = v8::Local::new(scope, hooks);
    // Index 0: `SNAPSHOT_HOOKS_INDEX` in src/install.rs.
    assert_eq!(scope.add_context_data(context, hooks), 0);
    MODULES.with(|m| m.borrow_mut().clear());
    scope.set_default_context(context);
  }
  creator
    .create_blob(v8::FunctionCodeHandling::Keep)
    .expect("V8 creates the snapshot")
    .to_vec()
}

fn exception_text(scope: &mut v8::PinScope<'_, '_>) -> String {
  // Callers hold a TryCatch further up; reading its message through a fresh one is enough here.
  v8::tc_scope!(let tc, scope);
  tc.exception()
    .map(|e| e.to_rust_string_lossy(tc))
    .unwrap_or_default()
}
