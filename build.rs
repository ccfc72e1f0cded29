//! Embeds the JS half of the web classes (`js/*.js`) into the library as a table of
//! (specifier, source) pairs in load order, and builds a V8 startup snapshot of a context in which
//! those modules have run, so `Runtime::new` restores the classes instead of compiling them.
//!
//! Functions marked `// @startup` (on the line above their head) are compiled into the snapshot;
//! the rest compile on first call. See `startup_hints`.
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
    stand_in::<18>.map_fn_to(),
    stand_in::<19>.map_fn_to(),
    stand_in::<20>.map_fn_to(),
    stand_in::<21>.map_fn_to(),
    stand_in::<22>.map_fn_to(),
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
      let source = startup_hints(specifier, source);
      let code = v8::String::new(scope, &source).unwrap();
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
      // Lazy, except what the bootstrap runs and the `// @startup` functions: compiling every
      // function into the snapshot made it 10 % larger, and deserializing their bytecode cost
      // more than compiling the few a script calls; compiling those few ahead saves their
      // first-call compilation (see `startup_hints`).
      let module = v8::script_compiler::compile_module2(
        scope,
        &mut source,
        v8::script_compiler::CompileOptions::FollowCompileHintsPerFunctionMagicComment,
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
    if promise.state() != v8::PromiseState::Fulfilled {
      let reason = promise.result(scope).to_rust_string_lossy(scope);
      panic!("bootstrap did not complete: {reason}");
    }
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

/// Hands V8 the positions of the functions marked `// @startup` (a line of its own above the
/// function's head, before its doc comment if it has one) through its per-function compile-hint
/// comment, `//# functionsCalledOnLoad=<positions>`, so they are compiled with the module and
/// their bytecode goes into the snapshot. The marked ones are those a script that makes a
/// channel, posts an object and receives it runs (`startup_path_is_compiled_ahead` in
/// tests/cli.rs names any that still compile on first call). A script making one channel then
/// starts in 0.90-0.93 of the time, one passing a message too in 0.81-0.82, an empty one in the
/// same time (paired whole-process runs, 2026-11-30; the snapshot grows by 23 KB).
///
/// The comment replaces the module's first line, which must be a `//` comment, so line numbers
/// in stack traces stay right. V8 reads the positions (UTF-16 offsets) as base64 VLQ deltas,
/// the first one from the end of the comment (its line break), and matches each against the
/// opening parenthesis of a function's parameters.
fn startup_hints(specifier: &str, source: &str) -> String {
  const MARKER: &str = "// @startup";
  let Some((first_line, rest)) = source.split_once('\n') else {
    return source.to_string();
  };
  let mut positions = Vec::new();
  let mut offset = 0;
  let mut marked = false;
  let mut in_block_comment = false;
  for line in rest.split_inclusive('\n') {
    let code = line.trim();
    // Lines of a /* */ comment, `//` comments and the marker itself are not the head.
    let comment = in_block_comment || code.starts_with("/*") || code.starts_with("//");
    if comment {
      in_block_comment = (in_block_comment || code.starts_with("/*")) && !code.ends_with("*/");
    }
    if code == MARKER {
      marked = true;
    } else if marked && !comment {
      // The function's head: the first line after the marker outside comments.
      let paren = line
        .find('(')
        .filter(|&at| !line[..at].contains(['{', '}', ';', ')']) && !line[..at].contains("=>"));
      let Some(paren) = paren else {
        panic!("{specifier}: `{MARKER}` must come before a function head, not {line:?}");
      };
      positions.push(rest[..offset + paren].encode_utf16().count() as i64);
      marked = false;
    }
    offset += line.len();
  }
  if positions.is_empty() {
    return source.to_string();
  }
  assert!(
    first_line.starts_with("//") && !first_line.starts_with("//#"),
    "{specifier}: a module with `{MARKER}` functions must start with a `//` comment line"
  );
  let mut text = String::from("//# functionsCalledOnLoad=");
  // The comment's line break is at `rest` offset -1.
  let mut last = -1;
  for position in positions {
    push_vlq(position - last, &mut text);
    last = position;
  }
  text.push('\n');
  text.push_str(rest);
  text
}

/// Appends `value` in the base64 VLQ of source maps.
fn push_vlq(value: i64, out: &mut String) {
  const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let mut rest = if value < 0 {
    ((-value as u64) << 1) | 1
  } else {
    (value as u64) << 1
  };
  loop {
    let digit = (rest & 31) as usize;
    rest >>= 5;
    out.push(DIGITS[digit | if rest == 0 { 0 } else { 32 }] as char);
    if rest == 0 {
      return;
    }
  }
}

fn exception_text(scope: &mut v8::PinScope<'_, '_>) -> String {
  // Callers hold a TryCatch further up; reading its message through a fresh one is enough here.
  v8::tc_scope!(let tc, scope);
  tc.exception()
    .map(|e| e.to_rust_string_lossy(tc))
    .unwrap_or_default()
}
