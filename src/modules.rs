//! ES module loading: the internal `v8mc:` modules embedded from `js/`, and user module files
//! imported by relative or absolute path. The whole static graph is read and compiled before
//! instantiation, so the resolve callback only looks modules up.

use crate::error::{Error, JsError};
use crate::js_sources::JS_SOURCES;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

const INTERNAL_SCHEME: &str = "v8mc:";

/// Compiled modules of one context, by resolved specifier and by V8 identity hash.
#[derive(Default)]
pub(crate) struct ModuleMap {
  by_specifier: HashMap<String, v8::Global<v8::Module>>,
  by_hash: HashMap<i32, String>,
}

/// The module map lives in its own context slot, apart from the messaging state.
struct ModuleSlot(RefCell<ModuleMap>);

fn module_map(context: &v8::Context) -> Rc<ModuleSlot> {
  if let Some(slot) = context.get_slot::<ModuleSlot>() {
    return slot;
  }
  let slot = Rc::new(ModuleSlot(RefCell::new(ModuleMap::default())));
  context.set_slot(slot.clone());
  slot
}

/// Resolves `specifier` as imported by `referrer` (a resolved specifier itself).
fn resolve(referrer: &str, specifier: &str) -> Result<String, String> {
  if referrer.starts_with(INTERNAL_SCHEME) {
    return if JS_SOURCES.iter().any(|(name, _)| *name == specifier) {
      Ok(specifier.to_string())
    } else {
      Err(format!("unknown internal module {specifier:?}"))
    };
  }
  if specifier.starts_with(INTERNAL_SCHEME) {
    return Err(format!(
      "cannot import {specifier:?} from {referrer}: internal modules are private"
    ));
  }
  let path = if let Some(rest) = specifier.strip_prefix("file://") {
    PathBuf::from(rest)
  } else if specifier.starts_with('/') {
    PathBuf::from(specifier)
  } else if specifier.starts_with("./") || specifier.starts_with("../") {
    Path::new(referrer)
      .parent()
      .unwrap_or(Path::new("/"))
      .join(specifier)
  } else {
    return Err(format!(
      "cannot resolve {specifier:?} from {referrer}: only relative (./, ../) and absolute paths are supported"
    ));
  };
  Ok(normalize(&path).to_string_lossy().into_owned())
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
  let mut out = PathBuf::new();
  for component in path.components() {
    match component {
      Component::ParentDir => {
        out.pop();
      }
      Component::CurDir => {}
      other => out.push(other.as_os_str()),
    }
  }
  out
}

/// An absolute, normalized form of a user path, used as the module's name and referrer.
pub(crate) fn absolute(path: &Path) -> Result<String, Error> {
  let path = std::path::absolute(path)
    .map_err(|e| Error::Module(format!("cannot resolve {}: {e}", path.display())))?;
  Ok(normalize(&path).to_string_lossy().into_owned())
}

fn read_source(specifier: &str) -> Result<String, Error> {
  if specifier.starts_with(INTERNAL_SCHEME) {
    return JS_SOURCES
      .iter()
      .find(|(name, _)| *name == specifier)
      .map(|(_, source)| source.to_string())
      .ok_or_else(|| Error::Module(format!("unknown internal module {specifier:?}")));
  }
  std::fs::read_to_string(specifier)
    .map_err(|e| Error::Module(format!("cannot read module {specifier}: {e}")))
}

fn compile<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  specifier: &str,
  source: &str,
) -> Result<v8::Local<'s, v8::Module>, Error> {
  v8::tc_scope!(let scope, scope);
  let too_long = || Error::Module(format!("{specifier} is too large"));
  let code = v8::String::new(scope, source).ok_or_else(too_long)?;
  let name = v8::String::new(scope, specifier).ok_or_else(too_long)?;
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
  match v8::script_compiler::compile_module(scope, &mut source) {
    Some(module) => Ok(module),
    None => {
      let exception = scope.exception().expect("compile failures throw");
      Err(Error::Exception(JsError::from_exception(scope, exception)))
    }
  }
}

/// Reads and compiles `specifier` and everything it imports, recording each in the map.
fn load_graph<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  map: &ModuleSlot,
  specifier: &str,
  source: String,
) -> Result<v8::Local<'s, v8::Module>, Error> {
  if let Some(module) = map.0.borrow().by_specifier.get(specifier) {
    return Ok(v8::Local::new(scope, module));
  }
  let module = compile(scope, specifier, &source)?;
  {
    let mut modules = map.0.borrow_mut();
    modules
      .by_specifier
      .insert(specifier.to_string(), v8::Global::new(scope, module));
    modules
      .by_hash
      .insert(module.get_identity_hash().get(), specifier.to_string());
  }
  let requests = module.get_module_requests();
  for i in 0..requests.length() {
    let Some(request) = requests
      .get(scope, i)
      .and_then(|r| v8::Local::<v8::ModuleRequest>::try_from(r).ok())
    else {
      continue;
    };
    let requested = request.get_specifier().to_rust_string_lossy(scope);
    let resolved = resolve(specifier, &requested).map_err(Error::Module)?;
    if map.0.borrow().by_specifier.contains_key(&resolved) {
      continue;
    }
    let source = read_source(&resolved)?;
    load_graph(scope, map, &resolved, source)?;
  }
  Ok(module)
}

fn resolve_callback<'s>(
  context: v8::Local<'s, v8::Context>,
  specifier: v8::Local<'s, v8::String>,
  _import_attributes: v8::Local<'s, v8::FixedArray>,
  referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
  // SAFETY: V8 calls this during InstantiateModule with `context` entered on this thread.
  v8::callback_scope!(unsafe scope, context);
  // A panic must not unwind into V8: it becomes a failed resolution instead.
  let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    let specifier = specifier.to_rust_string_lossy(scope);
    let map = module_map(&context);
    let modules = map.0.borrow();
    let module = modules
      .by_hash
      .get(&referrer.get_identity_hash().get())
      .and_then(|referrer| resolve(referrer, &specifier).ok())
      .and_then(|resolved| modules.by_specifier.get(&resolved))
      .cloned();
    (specifier, module)
  }));
  let text = match found {
    Ok((_, Some(module))) => return Some(v8::Local::new(scope, module)),
    Ok((specifier, None)) => format!("cannot resolve module {specifier:?}"),
    Err(_) => "internal error while resolving a module".to_owned(),
  };
  let message = v8::String::new(scope, &text)?;
  let error = v8::Exception::error(scope, message);
  scope.throw_exception(error);
  None
}

/// Loads, instantiates and evaluates a module graph. Returns the evaluation promise (settled
/// unless the graph uses top-level await).
pub(crate) fn evaluate<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  specifier: &str,
  source: Option<String>,
) -> Result<v8::Local<'s, v8::Promise>, Error> {
  let context = scope.get_current_context();
  let map = module_map(&context);
  let source = match source {
    Some(source) => source,
    None => read_source(specifier)?,
  };
  let module = load_graph(scope, &map, specifier, source)?;
  v8::tc_scope!(let scope, scope);
  if module.instantiate_module(scope, resolve_callback).is_none() {
    let exception = scope.exception().expect("instantiation failures throw");
    return Err(Error::Exception(JsError::from_exception(scope, exception)));
  }
  match module.evaluate(scope) {
    Some(result) => v8::Local::<v8::Promise>::try_from(result)
      .map_err(|_| Error::Module("module evaluation did not return a promise".to_string())),
    None => {
      let exception = scope.exception().expect("evaluation failures throw");
      Err(Error::Exception(JsError::from_exception(scope, exception)))
    }
  }
}
