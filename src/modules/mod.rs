//! ES modules: the module map of a context, static module graphs, dynamic `import()` and
//! `import.meta`.
//!
//! Modules are named by URL: user modules by the URL their [`ModuleLoader`] resolved (a `file:`
//! URL with the default loader), the internal ones (`js/`) by `v8mc:NN_name.js`. A module's whole
//! static graph is read and compiled before it is instantiated, so V8's resolve callback only
//! looks modules up. `import()` is a task of the event loop: the promise is returned at once,
//! and the graph is loaded, linked and evaluated at the start of the next turn.

mod dynamic;
mod graph;
mod loader;

pub(crate) use dynamic::{import_dynamically, initialize_import_meta};
pub use loader::{
  FsModuleLoader, MAX_MODULE_SIZE, ModuleLoader, ModuleSource, ModuleType, resolve_specifier,
};

use crate::error::{Error, JsError};
use graph::ModuleMap;
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use url::Url;

/// The scheme of the internal modules; user code cannot import them.
const INTERNAL_SCHEME: &str = "v8mc:";

/// The module state of one context, in a context slot of its own.
pub(crate) struct ModuleState {
  loader: RefCell<Rc<dyn ModuleLoader>>,
  map: RefCell<ModuleMap>,
  /// `import()` calls waiting for the event loop.
  pending: RefCell<Vec<dynamic::PendingImport>>,
  /// The URL of the module the runtime was started with (`import.meta.main`).
  main: RefCell<Option<String>>,
}

impl ModuleState {
  /// The state of `context`, made with the file-system loader on first use.
  pub(crate) fn of(context: &v8::Context) -> Rc<ModuleState> {
    if let Some(state) = context.get_slot::<ModuleState>() {
      return state;
    }
    let state = Rc::new(ModuleState {
      loader: RefCell::new(Rc::new(FsModuleLoader::default())),
      map: RefCell::new(ModuleMap::default()),
      pending: RefCell::new(Vec::new()),
      main: RefCell::new(None),
    });
    context.set_slot(state.clone());
    state
  }

  fn loader(&self) -> Rc<dyn ModuleLoader> {
    self.loader.borrow().clone()
  }
}

/// Makes `loader` resolve and load the user modules of `context` (a context the extension was
/// [`install`](crate::install)ed into; [`crate::RuntimeOptions::module_loader`] does this for a
/// [`crate::Runtime`]). The default is [`FsModuleLoader`].
pub fn set_module_loader(context: v8::Local<'_, v8::Context>, loader: Rc<dyn ModuleLoader>) {
  *ModuleState::of(&context).loader.borrow_mut() = loader;
}

/// Why a module could not be loaded, before it becomes a JS exception.
pub(crate) enum Failure {
  /// A `TypeError` with this message (a module that cannot be resolved, found or read).
  Type(String),
  /// A `SyntaxError` with this message (a bad import attribute, invalid JSON).
  Syntax(String),
  /// An exception V8 threw (a module's own `SyntaxError`, a failed link).
  Thrown(v8::Global<v8::Value>),
}

impl Failure {
  fn into_exception<'s>(self, scope: &mut v8::PinScope<'s, '_>) -> v8::Local<'s, v8::Value> {
    let (message, make): (_, fn(_, _) -> _) = match self {
      Failure::Thrown(exception) => return v8::Local::new(scope, exception),
      Failure::Type(message) => (message, v8::Exception::type_error),
      Failure::Syntax(message) => (message, v8::Exception::syntax_error),
    };
    let message = v8::String::new(scope, &message).unwrap_or_else(|| v8::String::empty(scope));
    make(scope, message)
  }

  /// The exception a failed V8 call left in a TryCatch (none when execution was terminated).
  fn caught(exception: Option<v8::Global<v8::Value>>) -> Self {
    match exception {
      Some(exception) => Failure::Thrown(exception),
      None => Failure::Type("the module could not be loaded: execution was terminated".into()),
    }
  }
}

/// Loads, links and evaluates the module at `url` and its static graph; `source` is its code
/// when it is not to be loaded (the internal modules, `v8mc eval --module`). Returns the
/// evaluation promise, settled unless the graph awaits at top level. With `main`, the module is
/// the runtime's entry (`import.meta.main`).
pub(crate) fn evaluate<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  url: &str,
  source: Option<String>,
  main: bool,
) -> Result<v8::Local<'s, v8::Promise>, Error> {
  let context = scope.get_current_context();
  let state = ModuleState::of(&context);
  if main {
    *state.main.borrow_mut() = Some(url.to_string());
  }
  match graph::load_and_evaluate(scope, &state, url, ModuleType::JavaScript, source, None) {
    Ok((_, promise)) => Ok(promise),
    Err(failure) => {
      let exception = failure.into_exception(scope);
      Err(Error::Exception(JsError::from_exception(scope, exception)))
    }
  }
}

/// The origin V8 names a script or module by: `name` (a URL for modules) in stack traces, error
/// locations and as what its `import()` calls resolve against.
pub(crate) fn script_origin<'s>(
  scope: &v8::PinScope<'s, '_>,
  name: v8::Local<'s, v8::String>,
  module: bool,
) -> v8::ScriptOrigin<'s> {
  v8::ScriptOrigin::new(
    scope,
    name.into(),
    0,
    0,
    false,
    0,
    None,
    false,
    false,
    module,
    None,
  )
}

/// The `file:` URL of a path on this machine, made absolute and with `.` and `..` resolved.
pub(crate) fn file_url(path: &Path) -> Result<Url, Error> {
  let absolute = std::path::absolute(path)
    .map_err(|e| Error::Module(format!("cannot resolve {}: {e}", path.display())))?;
  Url::from_file_path(normalize(&absolute))
    .map_err(|()| Error::Module(format!("{} is not a file path", path.display())))
}

/// The URL a script or module named `name` resolves its imports against: the name itself when it
/// is a URL, else the file it names (relative to the working directory).
pub(crate) fn base_url(name: &str) -> Url {
  if let Ok(url) = Url::parse(name)
    && url.scheme().len() > 1
  {
    return url;
  }
  let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
  let path = cwd.join(name);
  Url::from_file_path(normalize(&path))
    .or_else(|()| Url::from_directory_path(&cwd))
    .unwrap_or_else(|()| Url::parse("file:///").expect("a valid URL"))
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
