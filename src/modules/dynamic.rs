//! `import()` and `import.meta`: V8's two host hooks for them, and the event-loop step that
//! carries out the imports queued so far.

use super::graph::{self, module_type_of};
use super::{Failure, ModuleState, ModuleType, base_url};
use std::panic::{AssertUnwindSafe, catch_unwind};
use url::Url;

/// An `import()` waiting for the event loop.
pub(super) struct PendingImport {
  resolver: v8::Global<v8::PromiseResolver>,
  specifier: String,
  /// The URL of the script or module whose code called `import()`.
  referrer: String,
  module_type: ModuleType,
}

/// V8's host hook for `import(specifier, options)`: returns a promise and queues the load for
/// the event loop, so the imported module runs in a task of its own, as in other runtimes.
/// Bad import attributes reject at once.
pub(crate) fn import_dynamically<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  _host_defined_options: v8::Local<'s, v8::Data>,
  resource_name: v8::Local<'s, v8::Value>,
  specifier: v8::Local<'s, v8::String>,
  attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
  let resolver = v8::PromiseResolver::new(scope)?;
  let promise = resolver.get_promise(scope);
  let queued = catch_unwind(AssertUnwindSafe(|| {
    let module_type = module_type_of(scope, attributes, 2)?;
    let context = scope.get_current_context();
    let referrer = base_url(&resource_name.to_rust_string_lossy(scope)).into();
    ModuleState::of(&context)
      .pending
      .borrow_mut()
      .push(PendingImport {
        resolver: v8::Global::new(scope, resolver),
        specifier: specifier.to_rust_string_lossy(scope),
        referrer,
        module_type,
      });
    Ok(())
  }));
  let failure = match queued {
    Ok(Ok(())) => return Some(promise),
    Ok(Err(failure)) => failure,
    Err(_) => Failure::Type("internal error in import() (a bug in v8-message-channel)".into()),
  };
  let exception = failure.into_exception(scope);
  resolver.reject(scope, exception);
  Some(promise)
}

impl ModuleState {
  /// Whether `import()` calls wait for the event loop.
  pub(crate) fn has_pending_imports(&self) -> bool {
    !self.pending.borrow().is_empty()
  }

  /// Carries out the `import()` calls queued before this call, each as a task of its own:
  /// `after_each` runs after each (the event loop's microtask checkpoint).
  pub(crate) fn run_pending_imports(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    mut after_each: impl FnMut(&mut v8::PinScope<'_, '_>),
  ) {
    if !self.has_pending_imports() {
      return;
    }
    let imports = std::mem::take(&mut *self.pending.borrow_mut());
    for import in imports {
      {
        v8::scope!(let scope, scope);
        run_import(scope, self, import);
      }
      after_each(scope);
    }
  }
}

/// Loads, links and evaluates one `import()`'s module graph and settles its promise: with the
/// module namespace once evaluation (a top-level await included) is done, or with the error.
fn run_import(scope: &mut v8::PinScope<'_, '_>, state: &ModuleState, import: PendingImport) {
  let resolver = v8::Local::new(scope, &import.resolver);
  let loaded = graph::resolve(state, &import.specifier, &import.referrer).and_then(|url| {
    let importer = Some((import.specifier.as_str(), import.referrer.as_str()));
    graph::load_and_evaluate(scope, state, &url, import.module_type, None, importer)
  });
  let (module, evaluation) = match loaded {
    Ok(loaded) => loaded,
    Err(failure) => {
      let exception = failure.into_exception(scope);
      resolver.reject(scope, exception);
      return;
    }
  };
  // The namespace once evaluation (a top-level await included) is done. The handlers also
  // tell V8 that a rejected evaluation is handled: the import's own promise carries it on.
  let namespace = module.get_module_namespace();
  let settled = v8::Function::builder(return_data)
    .data(namespace)
    .build(scope)
    .zip(v8::Function::builder(rethrow).build(scope))
    .and_then(|(on_fulfilled, on_rejected)| evaluation.then2(scope, on_fulfilled, on_rejected));
  if let Some(settled) = settled {
    resolver.resolve(scope, settled.into());
  }
}

/// Returns its function's data (the module namespace of a settled import).
fn return_data<'s>(
  _scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  rv.set(args.data());
}

/// Throws its argument (the reason a module's evaluation was rejected with).
fn rethrow<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  scope.throw_exception(args.get(0));
}

/// V8's host hook for the first read of a module's `import.meta`: `url`, `resolve()`, `main`
/// and, for `file:` URLs, `filename` and `dirname` (as in Deno, Node and Bun).
pub(crate) extern "C" fn initialize_import_meta(
  context: v8::Local<v8::Context>,
  module: v8::Local<v8::Module>,
  meta: v8::Local<v8::Object>,
) {
  // A panic must not unwind into V8: import.meta then simply lacks its properties.
  let _ = catch_unwind(AssertUnwindSafe(|| {
    // SAFETY: V8 calls this on the isolate's thread, with `context` entered, while the module
    // reads import.meta.
    v8::callback_scope!(unsafe scope, context);
    let Some(state) = context.get_slot::<ModuleState>() else {
      return;
    };
    let Some(url) = state.map.borrow().url_of(module) else {
      return;
    };
    let main = state.main.borrow().as_deref() == Some(url.as_str());
    let set = |scope: &mut v8::PinScope<'_, '_>, name: &str, value: v8::Local<v8::Value>| {
      if let Some(key) = v8::String::new(scope, name) {
        meta.create_data_property(scope, key.into(), value);
      }
    };
    let Some(url_value) = v8::String::new(scope, &url) else {
      return;
    };
    set(scope, "url", url_value.into());
    if let Some(resolve) = v8::Function::builder(import_meta_resolve)
      .data(url_value.into())
      .length(1)
      .build(scope)
    {
      set(scope, "resolve", resolve.into());
    }
    let main = v8::Boolean::new(scope, main);
    set(scope, "main", main.into());
    if let Some(path) = Url::parse(&url)
      .ok()
      .filter(|url| url.scheme() == "file")
      .and_then(|url| url.to_file_path().ok())
    {
      let dirname = path
        .parent()
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned();
      for (name, text) in [
        ("filename", path.to_string_lossy().into_owned()),
        ("dirname", dirname),
      ] {
        if let Some(value) = v8::String::new(scope, &text) {
          set(scope, name, value.into());
        }
      }
    }
  }));
}

/// `import.meta.resolve(specifier)`: the URL an import of `specifier` from this module would
/// load, without loading it.
fn import_meta_resolve<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  let Some(specifier) = args.get(0).to_string(scope) else {
    return;
  };
  let result = catch_unwind(AssertUnwindSafe(|| {
    let specifier = specifier.to_rust_string_lossy(scope);
    let base = args.data().to_rust_string_lossy(scope);
    let state = ModuleState::of(&scope.get_current_context());
    graph::resolve(&state, &specifier, &base)
  }))
  .unwrap_or_else(|_| {
    Err(Failure::Type(
      "internal error in import.meta.resolve (a bug in v8-message-channel)".into(),
    ))
  });
  match result.and_then(|url| {
    v8::String::new(scope, &url).ok_or_else(|| Failure::Type("the URL is too long".into()))
  }) {
    Ok(url) => rv.set(url.into()),
    Err(failure) => {
      let exception = failure.into_exception(scope);
      scope.throw_exception(exception);
    }
  }
}
