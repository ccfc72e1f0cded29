//! The module map of a context and the loading of static module graphs: every module is read,
//! compiled and recorded with its resolved imports before its graph is linked, so V8's resolve
//! callback only looks modules up.

use super::{Failure, INTERNAL_SCHEME, ModuleState, ModuleType, base_url};
use crate::js_sources::JS_SOURCES;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use url::Url;

/// A module V8 made, with what the callbacks need to know of it.
struct Record {
  module: v8::Global<v8::Module>,
  url: String,
  /// Its static imports, resolved when it was loaded: (specifier, type, URL).
  requests: Vec<(String, ModuleType, String)>,
  /// A JSON module's value, until its evaluation makes it the default export.
  json: Option<v8::Global<v8::Value>>,
}

/// The modules of one context, by URL and type (an HTML module map: the same file imported as
/// JavaScript and as JSON is two modules).
#[derive(Default)]
pub(super) struct ModuleMap {
  by_url: HashMap<(String, ModuleType), v8::Global<v8::Module>>,
  /// V8 hands modules back by handle (the referrer of an import, the owner of `import.meta`):
  /// they are found by identity hash, which is not unique, then by identity.
  records: HashMap<i32, Vec<Record>>,
}

impl ModuleMap {
  fn get(&self, url: &str, module_type: ModuleType) -> Option<&v8::Global<v8::Module>> {
    self.by_url.get(&(url.to_string(), module_type))
  }

  fn record(&self, module: v8::Local<'_, v8::Module>) -> Option<&Record> {
    let candidates = self.records.get(&module.get_identity_hash().get())?;
    candidates.iter().find(|record| record.module == module)
  }

  fn record_mut(&mut self, module: v8::Local<'_, v8::Module>) -> Option<&mut Record> {
    let candidates = self.records.get_mut(&module.get_identity_hash().get())?;
    candidates.iter_mut().find(|record| record.module == module)
  }

  /// The URL of a module of this map.
  pub(super) fn url_of(&self, module: v8::Local<'_, v8::Module>) -> Option<String> {
    Some(self.record(module)?.url.clone())
  }
}

/// Loads the module at `url` and its static graph, links and evaluates it. Returns the module
/// and its evaluation promise. `source` is its code when it is not to be loaded; `importer`
/// (specifier, referrer) names who asked for it in error messages.
pub(super) fn load_and_evaluate<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ModuleState,
  url: &str,
  module_type: ModuleType,
  source: Option<String>,
  importer: Option<(&str, &str)>,
) -> Result<(v8::Local<'s, v8::Module>, v8::Local<'s, v8::Promise>), Failure> {
  let mut visited = HashSet::new();
  let module = load_graph(
    scope,
    state,
    url,
    module_type,
    source,
    importer,
    &mut visited,
  )?;
  v8::tc_scope!(let tc, scope);
  if module.instantiate_module(tc, resolve_callback).is_none() {
    let exception = tc.exception().map(|e| v8::Global::new(tc, e));
    return Err(Failure::caught(exception));
  }
  let Some(result) = module.evaluate(tc) else {
    let exception = tc.exception().map(|e| v8::Global::new(tc, e));
    return Err(Failure::caught(exception));
  };
  let promise = v8::Local::<v8::Promise>::try_from(result)
    .map_err(|_| Failure::Type("module evaluation did not return a promise".into()))?;
  Ok((module, promise))
}

/// Reads and compiles the module at `url` unless the map has it, then does the same for every
/// module it imports (those already in the map too: an earlier load may have failed half-way).
fn load_graph<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ModuleState,
  url: &str,
  module_type: ModuleType,
  source: Option<String>,
  importer: Option<(&str, &str)>,
  visited: &mut HashSet<(String, ModuleType)>,
) -> Result<v8::Local<'s, v8::Module>, Failure> {
  if !visited.insert((url.to_string(), module_type)) {
    let map = state.map.borrow();
    let module = map
      .get(url, module_type)
      .expect("visited modules are recorded");
    return Ok(v8::Local::new(scope, module));
  }
  let known = state.map.borrow().get(url, module_type).cloned();
  let (module, requests) = match known {
    Some(module) => {
      let module = v8::Local::new(scope, module);
      let map = state.map.borrow();
      let record = map.record(module).expect("mapped modules have records");
      (module, record.requests.clone())
    }
    None => {
      let code = match source {
        Some(code) => code,
        None => fetch(state, url, module_type, importer)?,
      };
      let (module, json) = match module_type {
        ModuleType::JavaScript => (compile(scope, url, &code)?, None),
        ModuleType::Json => json_module(scope, url, &code)?,
      };
      let requests = requests_of(scope, state, url, module)?;
      let mut map = state.map.borrow_mut();
      let global = v8::Global::new(scope, module);
      map
        .by_url
        .insert((url.to_string(), module_type), global.clone());
      let record = Record {
        module: global,
        url: url.to_string(),
        requests: requests.clone(),
        json,
      };
      let hash = module.get_identity_hash().get();
      map.records.entry(hash).or_default().push(record);
      (module, requests)
    }
  };
  for (specifier, request_type, resolved) in &requests {
    load_graph(
      scope,
      state,
      resolved,
      *request_type,
      None,
      Some((specifier, url)),
      visited,
    )?;
  }
  Ok(module)
}

/// ` imported as "./a.js" from "file:///main.js"`, for error messages.
fn imported_as(importer: Option<(&str, &str)>) -> String {
  match importer {
    Some((specifier, referrer)) => format!(" imported as \"{specifier}\" from \"{referrer}\""),
    None => String::new(),
  }
}

/// The code of the module at `url`: an internal module's, or what the loader returns.
fn fetch(
  state: &ModuleState,
  url: &str,
  module_type: ModuleType,
  importer: Option<(&str, &str)>,
) -> Result<String, Failure> {
  if url.starts_with(INTERNAL_SCHEME) {
    return JS_SOURCES
      .iter()
      .find(|(name, _)| *name == url)
      .map(|(_, source)| source.to_string())
      .ok_or_else(|| Failure::Type(format!("unknown internal module \"{url}\"")));
  }
  let cannot_load = |reason: &str| {
    Failure::Type(format!(
      "Cannot load module \"{url}\"{}: {reason}",
      imported_as(importer)
    ))
  };
  let parsed = Url::parse(url).map_err(|e| cannot_load(&e.to_string()))?;
  let source = state
    .loader()
    .load(&parsed)
    .map_err(|reason| cannot_load(&reason))?;
  match (module_type, source.module_type) {
    (ModuleType::JavaScript, ModuleType::Json) => Err(cannot_load(
      "it is a JSON module: import it with { type: \"json\" }",
    )),
    (ModuleType::Json, ModuleType::JavaScript) => Err(cannot_load(
      "it was imported with { type: \"json\" } but is not JSON",
    )),
    _ => Ok(source.code),
  }
}

/// The URL `specifier` names when the script or module named `referrer` imports it.
pub(super) fn resolve(
  state: &ModuleState,
  specifier: &str,
  referrer: &str,
) -> Result<String, Failure> {
  if referrer.starts_with(INTERNAL_SCHEME) {
    return if JS_SOURCES.iter().any(|(name, _)| *name == specifier) {
      Ok(specifier.to_string())
    } else {
      Err(Failure::Type(format!(
        "unknown internal module \"{specifier}\""
      )))
    };
  }
  let cannot_resolve = |reason: &str| {
    Failure::Type(format!(
      "Cannot resolve module specifier \"{specifier}\" imported from \"{referrer}\": {reason}"
    ))
  };
  let url = state
    .loader()
    .resolve(specifier, &base_url(referrer))
    .map_err(|reason| cannot_resolve(&reason))?;
  if url.as_str().starts_with(INTERNAL_SCHEME) {
    return Err(cannot_resolve("the internal modules are private"));
  }
  Ok(url.into())
}

/// The type an import's attributes ask for: JavaScript without a `type`, JSON with `"json"`.
/// `entry` is the number of array elements per attribute: 3 for static imports (key, value,
/// source position), 2 for `import()`.
pub(super) fn module_type_of(
  scope: &mut v8::PinScope<'_, '_>,
  attributes: v8::Local<'_, v8::FixedArray>,
  entry: usize,
) -> Result<ModuleType, Failure> {
  let text = |scope: &mut v8::PinScope<'_, '_>, index: usize| {
    attributes
      .get(scope, index)
      .and_then(|data| v8::Local::<v8::String>::try_from(data).ok())
      .map(|string| string.to_rust_string_lossy(scope))
      .unwrap_or_default()
  };
  let mut module_type = ModuleType::JavaScript;
  for index in (0..attributes.length()).step_by(entry) {
    let key = text(scope, index);
    let value = text(scope, index + 1);
    if key != "type" {
      return Err(Failure::Syntax(format!(
        "Import attribute \"{key}\" is not supported (only \"type\" is)"
      )));
    }
    module_type = match value.as_str() {
      "json" => ModuleType::Json,
      _ => {
        return Err(Failure::Type(format!(
          "Import attribute type \"{value}\" is not supported (only \"json\" is)"
        )));
      }
    };
  }
  Ok(module_type)
}

/// The static imports of `module` (at `url`), resolved.
fn requests_of(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ModuleState,
  url: &str,
  module: v8::Local<'_, v8::Module>,
) -> Result<Vec<(String, ModuleType, String)>, Failure> {
  let requests = module.get_module_requests();
  let mut resolved = Vec::with_capacity(requests.length());
  for index in 0..requests.length() {
    let Some(request) = requests
      .get(scope, index)
      .and_then(|r| v8::Local::<v8::ModuleRequest>::try_from(r).ok())
    else {
      continue;
    };
    let specifier = request.get_specifier().to_rust_string_lossy(scope);
    let module_type = module_type_of(scope, request.get_import_attributes(), 3)?;
    let target = resolve(state, &specifier, url)?;
    resolved.push((specifier, module_type, target));
  }
  Ok(resolved)
}

fn too_large(url: &str) -> Failure {
  Failure::Type(format!(
    "Cannot load module \"{url}\": it is too large for V8"
  ))
}

fn compile<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  url: &str,
  code: &str,
) -> Result<v8::Local<'s, v8::Module>, Failure> {
  let code = v8::String::new(scope, code).ok_or_else(|| too_large(url))?;
  let name = v8::String::new(scope, url).ok_or_else(|| too_large(url))?;
  let origin = super::script_origin(scope, name, true);
  let mut source = v8::script_compiler::Source::new(code, Some(&origin));
  v8::tc_scope!(let tc, scope);
  v8::script_compiler::compile_module(tc, &mut source).ok_or_else(|| {
    let exception = tc.exception().map(|e| v8::Global::new(tc, e));
    Failure::caught(exception)
  })
}

/// A JSON module: a synthetic module whose default export is the parsed value, set when it
/// is evaluated (`evaluate_json`).
fn json_module<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  url: &str,
  code: &str,
) -> Result<(v8::Local<'s, v8::Module>, Option<v8::Global<v8::Value>>), Failure> {
  let text = v8::String::new(scope, code).ok_or_else(|| too_large(url))?;
  let name = v8::String::new(scope, url).ok_or_else(|| too_large(url))?;
  let parsed = {
    v8::tc_scope!(let tc, scope);
    match v8::json::parse(tc, text) {
      Some(value) => Ok(v8::Global::new(tc, value)),
      None => {
        let reason = tc
          .exception()
          .map(|e| e.to_rust_string_lossy(tc))
          .unwrap_or_default();
        let reason = reason.strip_prefix("SyntaxError: ").unwrap_or(&reason);
        Err(Failure::Syntax(format!(
          "{url} is not valid JSON: {reason}"
        )))
      }
    }
  }?;
  let export = v8::String::new(scope, "default").expect("short string");
  let module = v8::Module::create_synthetic_module(scope, name, &[export], evaluate_json);
  Ok((module, Some(parsed)))
}

/// The evaluation steps of a JSON module: its value becomes the default export.
fn evaluate_json<'s>(
  context: v8::Local<'s, v8::Context>,
  module: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Value>> {
  // SAFETY: V8 calls this while evaluating `module`, on the isolate's thread, with `context`
  // entered.
  v8::callback_scope!(unsafe scope, context);
  let value = catch_unwind(AssertUnwindSafe(|| {
    let state = context.get_slot::<ModuleState>()?;
    let mut map = state.map.borrow_mut();
    map.record_mut(module)?.json.take()
  }));
  let Ok(Some(value)) = value else {
    let message = v8::String::new(scope, "a JSON module lost its value")?;
    let error = v8::Exception::error(scope, message);
    scope.throw_exception(error);
    return None;
  };
  let value = v8::Local::new(scope, value);
  let export = v8::String::new(scope, "default")?;
  module.set_synthetic_module_export(scope, export, value)?;
  // Evaluation steps return a promise: Module::Evaluate hands it back as the module's.
  let done = v8::PromiseResolver::new(scope)?;
  let undefined = v8::undefined(scope).into();
  done.resolve(scope, undefined)?;
  Some(done.get_promise(scope).into())
}

/// V8's resolve callback while linking: the module that `referrer`'s import of `specifier`
/// was resolved to when the graph was loaded.
fn resolve_callback<'s>(
  context: v8::Local<'s, v8::Context>,
  specifier: v8::Local<'s, v8::String>,
  attributes: v8::Local<'s, v8::FixedArray>,
  referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
  // SAFETY: V8 calls this during InstantiateModule with `context` entered on this thread.
  v8::callback_scope!(unsafe scope, context);
  // A panic must not unwind into V8: it becomes a failed resolution instead.
  let found = catch_unwind(AssertUnwindSafe(|| {
    let specifier = specifier.to_rust_string_lossy(scope);
    let module_type = module_type_of(scope, attributes, 3).ok();
    let module = context.get_slot::<ModuleState>().and_then(|state| {
      let map = state.map.borrow();
      let record = map.record(referrer)?;
      let (_, _, url) = record
        .requests
        .iter()
        .find(|(s, t, _)| *s == specifier && Some(*t) == module_type)?;
      map.get(url, module_type?).cloned()
    });
    (specifier, module)
  }));
  let text = match found {
    Ok((_, Some(module))) => return Some(v8::Local::new(scope, module)),
    Ok((specifier, None)) => format!("Cannot resolve module \"{specifier}\""),
    Err(_) => "internal error while resolving a module".to_owned(),
  };
  let message = v8::String::new(scope, &text)?;
  let error = v8::Exception::error(scope, message);
  scope.throw_exception(error);
  None
}
