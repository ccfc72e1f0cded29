//! [`Runtime`]: an isolate and a context with the extension installed, plus a tokio-driven event
//! loop. The quickest way to run JS against the globals; embedders with their own isolate use
//! [`crate::install`] and [`crate::run_tasks`] instead.

#[cfg(feature = "fast-paths")]
use crate::array_buffers;
use crate::channel::Port;
use crate::compat::Compat;
use crate::context::{
  ContextState, Output, adopt_port, external_references, has_pending_work, has_queued_tasks,
  microtask_checkpoint, process_output, run_tasks, take_uncaught_errors,
};
use crate::error::{Error, JsError};
use crate::event_loop::Poll;
use crate::install::{attach_to_snapshot_context, install_with_output};
use crate::modules::{self, ModuleLoader};
use std::path::Path;
use std::rc::Rc;
use std::sync::OnceLock;

/// A context after `js/` has run, made by build.rs.
static SNAPSHOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/snapshot.bin"));

static PLATFORM: OnceLock<v8::SharedRef<v8::Platform>> = OnceLock::new();

/// Initializes V8 once per process (a default platform). [`Runtime::new`] calls it; embedders
/// that set V8 up themselves do not need it.
pub fn init_v8() {
  PLATFORM.get_or_init(|| {
    let platform = v8::new_default_platform(0, false).make_shared();
    v8::V8::initialize_platform(platform.clone());
    v8::V8::initialize();
    platform
  });
}

/// Busy event-loop turns run back to back before [`Runtime::run_event_loop`] runs V8's
/// platform tasks and yields to tokio.
const TURNS_PER_YIELD: u32 = 32;

/// How to build a [`Runtime`].
#[derive(Clone)]
pub struct RuntimeOptions {
  /// Which behaviours are on (see [`Compat`]); the newest date by default.
  pub compat: Compat,
  /// Where console output goes; the process's stdout/stderr when `None`.
  pub output: Option<Output>,
  /// Restore the context from the startup snapshot built into the library (build.rs) instead of
  /// evaluating `js/` afresh: a runtime then starts in about half the time. On by default. The
  /// snapshot keeps V8's own read-only space, which all isolates of a process share, so these
  /// runtimes live beside isolates made from V8's default snapshot (an embedder's own).
  pub startup_snapshot: bool,
  /// Resolves and loads user modules (static imports, `import()`, `import.meta.resolve`);
  /// [`crate::FsModuleLoader`] when `None`.
  pub module_loader: Option<Rc<dyn ModuleLoader>>,
  /// The size limit of a message `postMessage` sends, in bytes of its serialized form (a larger
  /// one is a `DataCloneError`); [`crate::DEFAULT_MAX_MESSAGE_SIZE`] (256 MiB) when `None`.
  pub max_message_size: Option<usize>,
}

/// The runtime's isolate entered on this thread until the guard drops (also on a panic),
/// without holding a borrow of it: calls made meanwhile enter it again, which V8 only counts
/// (see `run_event_loop`).
struct EnteredWhile(*mut v8::Isolate);

impl EnteredWhile {
  fn new(isolate: &mut v8::OwnedIsolate) -> Self {
    let isolate: &mut v8::Isolate = isolate;
    // SAFETY: entering is allowed on any thread that uses the isolate, and nests; `drop` exits
    // it, making the isolate entered before (if any) current again. The pointer stays valid:
    // every guard lives inside a call that borrows the runtime, and with it the isolate.
    unsafe { isolate.enter() };
    EnteredWhile(isolate)
  }
}

impl Drop for EnteredWhile {
  fn drop(&mut self) {
    // SAFETY: entered in `new` on this thread; every nested enter since was exited by its own
    // guard or scope, and no other reference to the isolate is in use while this one exits it.
    unsafe { (*self.0).exit() };
  }
}

/// The runtime's isolate, entered for the guard's life and borrowed through it.
struct Entered<'a> {
  isolate: &'a mut v8::OwnedIsolate,
  _entered: EnteredWhile,
}

impl<'a> Entered<'a> {
  fn new(isolate: &'a mut v8::OwnedIsolate) -> Self {
    let entered = EnteredWhile::new(isolate);
    Entered {
      isolate,
      _entered: entered,
    }
  }
}

impl std::ops::Deref for Entered<'_> {
  type Target = v8::OwnedIsolate;
  fn deref(&self) -> &v8::OwnedIsolate {
    self.isolate
  }
}

impl std::ops::DerefMut for Entered<'_> {
  fn deref_mut(&mut self) -> &mut v8::OwnedIsolate {
    self.isolate
  }
}

impl Drop for Runtime {
  fn drop(&mut self) {
    // OwnedIsolate's own drop exits the isolate, and requires it to be the current one.
    // SAFETY: entered on this thread, just before the isolate (the last field) is dropped.
    unsafe { self.isolate.enter() };
  }
}

impl Default for RuntimeOptions {
  fn default() -> Self {
    RuntimeOptions {
      compat: Compat::default(),
      output: None,
      startup_snapshot: true,
      module_loader: None,
      max_message_size: None,
    }
  }
}

/// A V8 isolate with one context holding the web globals.
///
/// ```
/// use v8_message_channel::{Runtime, RuntimeOptions};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mut runtime = Runtime::new(RuntimeOptions::default()).unwrap();
/// runtime
///   .execute_script("demo.js", r#"
///     const { port1, port2 } = new MessageChannel();
///     port2.onmessage = (e) => { globalThis.got = e.data.n; };
///     port1.postMessage({ n: 42 });
///   "#)
///   .unwrap();
/// runtime.run_event_loop().await.unwrap();
/// assert_eq!(runtime.eval::<u32>("got").unwrap(), 42);
/// # });
/// ```
pub struct Runtime {
  context: v8::Global<v8::Context>,
  /// Evaluation promises of modules whose top-level await has not settled yet.
  pending_modules: Vec<(String, v8::Global<v8::Promise>)>,
  // Dropped last: everything above refers into it.
  isolate: v8::OwnedIsolate,
}

impl Runtime {
  /// Creates an isolate and a context with the globals the compatibility settings call for.
  pub fn new(options: RuntimeOptions) -> Result<Self, Error> {
    init_v8();
    let params = v8::CreateParams::default();
    #[cfg(feature = "fast-paths")]
    let params = params.array_buffer_allocator(array_buffers::allocator());
    let params = if options.startup_snapshot {
      // The startup snapshot (built by build.rs) already holds a context with the web classes.
      params
        .snapshot_blob(SNAPSHOT.into())
        .external_references(external_references().into())
    } else {
      params
    };
    let mut isolate = v8::Isolate::new(params);
    #[cfg(feature = "fast-paths")]
    isolate.set_slot(array_buffers::OwnAllocator);
    isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
    let context = {
      v8::scope!(let scope, &mut isolate);
      let context = v8::Context::new(scope, Default::default());
      let output = options.output.unwrap_or_else(process_output);
      if options.startup_snapshot {
        attach_to_snapshot_context(scope, context, &options.compat, output)?;
      } else {
        install_with_output(scope, context, &options.compat, output)?;
      }
      if let Some(loader) = options.module_loader {
        modules::set_module_loader(context, loader);
      }
      if let Some(limit) = options.max_message_size {
        let scope = &mut v8::ContextScope::new(scope, context);
        crate::set_max_message_size(scope, limit);
      }
      v8::Global::new(scope, context)
    };
    // rusty_v8 leaves a new isolate entered on this thread until it is dropped; a runtime enters
    // its own around each call instead (`Entered`), so a thread may hold several runtimes and
    // use and drop them in any order.
    // SAFETY: the isolate was entered when it was made, on this thread, and is the current one.
    unsafe { isolate.exit() };
    Ok(Self {
      context,
      pending_modules: Vec::new(),
      isolate,
    })
  }

  /// Runs a classic script, then a microtask checkpoint. An exception that escapes the script
  /// comes back as [`Error::Exception`] with its stack.
  pub fn execute_script(&mut self, name: &str, source: &str) -> Result<(), Error> {
    self.with_context(|scope| run_in_scope(scope, name, source).map(|_| ()))
  }

  /// Runs a classic script the way a worker's `importScripts()` does: an exception that escapes
  /// it (a syntax error included) is reported (an `error` event on the global object, printed as
  /// uncaught if no listener cancels it) instead of returned, and no microtask checkpoint follows,
  /// so several calls in a row act as one task. [`Runtime::run_event_loop`] starts with the
  /// checkpoint.
  pub fn execute_script_reporting_errors(&mut self, name: &str, source: &str) {
    self.with_context(|scope| {
      v8::tc_scope!(let scope, scope);
      let ran = compile_and_run(scope, name, source);
      // A terminated script (TerminateExecution from another thread) has nothing to report.
      if ran.is_none()
        && !scope.has_terminated()
        && let Some(exception) = scope.exception()
        && let Some(state) = ContextState::get(scope)
      {
        scope.reset();
        crate::context::report_exception(scope, &state, exception);
      }
    });
  }

  /// Evaluates an expression and converts its value with `serde_v8`.
  pub fn eval<T: serde::de::DeserializeOwned>(&mut self, source: &str) -> Result<T, Error> {
    self.with_context(|scope| {
      let value = run_in_scope(scope, "<eval>", source)?;
      serde_v8::from_v8(scope, value).map_err(|e| Error::Conversion(e.to_string()))
    })
  }

  /// Runs `f` in a handle scope with the runtime's isolate and context entered: the way to use
  /// the V8 API on the runtime's context (define a global, call a function, read a value).
  ///
  /// ```
  /// # let mut runtime = v8_message_channel::Runtime::new(Default::default()).unwrap();
  /// let answer = runtime.with_context(|scope| {
  ///   let code = v8::String::new(scope, "6 * 7").unwrap();
  ///   let script = v8::Script::compile(scope, code, None).unwrap();
  ///   script.run(scope).unwrap().integer_value(scope).unwrap()
  /// });
  /// assert_eq!(answer, 42);
  /// ```
  pub fn with_context<R>(&mut self, f: impl FnOnce(&mut v8::PinScope<'_, '_>) -> R) -> R {
    let mut isolate = Entered::new(&mut self.isolate);
    v8::scope!(let scope, &mut *isolate);
    let context = v8::Local::new(scope, &self.context);
    let scope = &mut v8::ContextScope::new(scope, context);
    f(scope)
  }

  /// Loads an ES module file and its static imports, evaluates it and performs a microtask
  /// checkpoint. Imports resolve as URLs against the module's `file:` URL and load through
  /// [`RuntimeOptions::module_loader`]. A top-level `await` may still be pending afterwards;
  /// [`Runtime::run_event_loop`] waits for it and reports its rejection.
  pub fn execute_module(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
    let url = modules::file_url(path.as_ref())?;
    self.evaluate_main_module(url.as_str(), None)
  }

  /// Like [`Runtime::execute_module`], for a module whose code is `source`: `name` is its URL
  /// (or a path, made a `file:` URL), which its imports resolve against.
  pub fn execute_module_source(&mut self, name: &str, source: &str) -> Result<(), Error> {
    let url = modules::base_url(name);
    self.evaluate_main_module(url.as_str(), Some(source.to_string()))
  }

  fn evaluate_main_module(&mut self, url: &str, source: Option<String>) -> Result<(), Error> {
    let specifier = url.to_string();
    let pending = self.with_context(|scope| {
      let promise = modules::evaluate(scope, &specifier, source, true)?;
      if let Some(state) = ContextState::get(scope) {
        // Its rejection comes back as this call's or run_event_loop's error, not as an
        // unhandled rejection besides.
        promise.mark_as_handled();
        state.forget_rejection(promise);
        microtask_checkpoint(scope, &state);
      }
      match promise.state() {
        v8::PromiseState::Fulfilled => Ok(None),
        v8::PromiseState::Rejected => {
          let reason = promise.result(scope);
          Err(Error::Exception(JsError::from_exception(scope, reason)))
        }
        v8::PromiseState::Pending => Ok(Some(v8::Global::new(scope, promise))),
      }
    })?;
    if let Some(promise) = pending {
      self.pending_modules.push((specifier, promise));
    }
    Ok(())
  }

  /// Runs tasks (messages, close events, timers) until none is left, each followed by a
  /// microtask checkpoint. A port waiting for messages keeps it running only while it is
  /// started, has a `message` listener and its peer lives in another runtime (which may post
  /// from another thread: the loop then sleeps until it does).
  ///
  /// Errors reported along the way (a throwing listener or timer, an unhandled rejection) are
  /// printed as they happen and do not stop the loop; they come back at the end as
  /// [`Error::Uncaught`]. A rejected top-level await stops it with [`Error::Exception`].
  pub async fn run_event_loop(&mut self) -> Result<(), Error> {
    self.with_context(|scope| {
      if let Some(state) = ContextState::get(scope) {
        microtask_checkpoint(scope, &state);
      }
    });
    let tasks = self.with_context(|scope| ContextState::get(scope).map(|state| state.task_queue()));
    let mut busy_turns = 0;
    loop {
      // The turns until the loop must yield or wait run with the isolate entered once: entering
      // an isolate that is not the thread's current one costs a lock and an allocation in V8,
      // while the nested enter of each call below only counts.
      // Another runtime on this thread may run while this one awaits: the guard ends first.
      let poll = {
        let _entered = EnteredWhile::new(&mut self.isolate);
        loop {
          let mut poll = self.with_context(run_tasks);
          busy_turns += 1;
          // V8 posts work to the platform (GC finalization, the weak callbacks that free dropped
          // ports, FinalizationRegistry cleanups) and tokio has drivers to poll: both are served
          // every few busy turns and whenever the loop is about to wait or end. A ping-pong runs
          // one turn per message, and each service costs a lock and a clock read.
          if poll != Poll::Ready || busy_turns == TURNS_PER_YIELD {
            if let Some(platform) = PLATFORM.get() {
              let isolate = Entered::new(&mut self.isolate);
              while v8::Platform::pump_message_loop(platform, &isolate, false) {}
            }
            // A platform task may have run JS (a FinalizationRegistry callback) that queued work.
            let queued = match poll {
              Poll::Ready => false,
              Poll::WaitUntil(_) | Poll::Waiting => {
                self.with_context(|scope| has_queued_tasks(scope))
              }
              Poll::Done => self.with_context(|scope| has_pending_work(scope)),
            };
            if queued {
              poll = Poll::Ready;
            }
          }
          self.check_pending_modules()?;
          if poll != Poll::Ready || busy_turns >= TURNS_PER_YIELD {
            break poll;
          }
        }
      };
      match poll {
        Poll::Ready => {
          if busy_turns >= TURNS_PER_YIELD {
            busy_turns = 0;
            tokio::task::yield_now().await;
          }
        }
        Poll::WaitUntil(deadline) => {
          busy_turns = 0;
          let sleep = tokio::time::sleep_until(deadline.into());
          match &tasks {
            // Another thread may post before the timer is due.
            Some(tasks) => {
              tokio::select! {
                () = sleep => {}
                () = tasks.woken() => {}
              }
            }
            None => sleep.await,
          }
        }
        Poll::Waiting => {
          busy_turns = 0;
          if let Some(tasks) = &tasks {
            tasks.woken().await;
          }
        }
        Poll::Done => break,
      }
    }
    if let Some((specifier, _)) = self.pending_modules.first() {
      return Err(Error::StalledTopLevelAwait(specifier.clone()));
    }
    let mut errors = self.with_context(|scope| take_uncaught_errors(scope));
    if errors.is_empty() {
      Ok(())
    } else {
      let count = errors.len();
      Err(Error::Uncaught {
        first: errors.swap_remove(0),
        count,
      })
    }
  }

  fn check_pending_modules(&mut self) -> Result<(), Error> {
    if self.pending_modules.is_empty() {
      return Ok(());
    }
    let mut isolate = Entered::new(&mut self.isolate);
    v8::scope!(let scope, &mut *isolate);
    let context = v8::Local::new(scope, &self.context);
    let scope = &mut v8::ContextScope::new(scope, context);
    let mut failure = None;
    self.pending_modules.retain(|(_, promise)| {
      let promise = v8::Local::new(scope, promise);
      match promise.state() {
        v8::PromiseState::Pending => true,
        v8::PromiseState::Fulfilled => false,
        v8::PromiseState::Rejected => {
          if failure.is_none() {
            let reason = promise.result(scope);
            failure = Some(JsError::from_exception(scope, reason));
          }
          false
        }
      }
    });
    match failure {
      Some(error) => Err(Error::Exception(error)),
      None => Ok(()),
    }
  }

  /// Makes a JS `MessagePort` of `port` (an end from [`crate::entangled_pair`], say, or
  /// one another runtime let go of) in this runtime: messages posted to the other end are
  /// delivered here, from whatever thread they come.
  pub fn adopt_port(&mut self, port: Port) -> Result<v8::Global<v8::Object>, Error> {
    self.with_context(|scope| {
      let state = ContextState::get(scope)
        .ok_or_else(|| Error::Module("the extension is not installed".into()))?;
      let object = adopt_port(scope, &state, port)
        .ok_or_else(|| Error::Module("the port could not be made".into()))?;
      Ok(v8::Global::new(scope, object))
    })
  }

  /// [`Runtime::adopt_port`], and the port becomes the global `name` (a writable,
  /// configurable data property, like the web globals).
  pub fn define_port(&mut self, name: &str, port: Port) -> Result<(), Error> {
    let object = self.adopt_port(port)?;
    self.with_context(|scope| {
      let key = v8::String::new(scope, name)
        .ok_or_else(|| Error::Module(format!("{name} is too long a global name")))?;
      let object = v8::Local::new(scope, object);
      let global = scope.get_current_context().global(scope);
      global
        .create_data_property(scope, key.into(), object.into())
        .filter(|&done| done)
        .map(|_| ())
        .ok_or_else(|| Error::Module(format!("the global {name} could not be defined")))
    })
  }

  /// How many ports have live records (diagnostics: a dropped port's record is freed after the
  /// GC collects its object and the next event-loop turn sweeps it).
  pub fn live_ports(&mut self) -> usize {
    self.with_context(|scope| {
      ContextState::get(scope).map_or(0, |state| {
        let mut ports = state.ports();
        ports.sweep_collected(scope);
        ports.len()
      })
    })
  }

  /// Messages queued in ports and not yet delivered (diagnostics).
  pub fn queued_messages(&mut self) -> usize {
    self.with_context(|scope| {
      ContextState::get(scope).map_or(0, |state| state.ports().queued_messages())
    })
  }

  /// The bytes of serialized messages queued in ports and not yet delivered, transferred
  /// buffers included (diagnostics; same-isolate copies live in the JS heap instead).
  pub fn queued_bytes(&mut self) -> usize {
    self.with_context(|scope| {
      ContextState::get(scope).map_or(0, |state| state.ports().queued_bytes())
    })
  }

  /// Asks V8 for a full garbage collection (diagnostics and leak tests).
  pub fn collect_garbage(&mut self) {
    Entered::new(&mut self.isolate).low_memory_notification();
  }

  /// The isolate, for embedders that need more than this API offers. It is not entered between
  /// calls (a thread may hold several runtimes): use [`Runtime::with_context`] for scopes.
  pub fn isolate(&mut self) -> &mut v8::OwnedIsolate {
    &mut self.isolate
  }

  /// The context the globals live in.
  pub fn context(&self) -> &v8::Global<v8::Context> {
    &self.context
  }
}

fn run_in_scope<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  name: &str,
  source: &str,
) -> Result<v8::Local<'s, v8::Value>, Error> {
  let result = {
    v8::tc_scope!(let scope, scope);
    match compile_and_run(scope, name, source) {
      Some(value) => Ok(v8::Global::new(scope, value)),
      None => match scope.exception() {
        Some(exception) => Err(Error::Exception(JsError::from_exception(scope, exception))),
        None => Err(Error::Module(format!("{name} is too large to load"))),
      },
    }
  };
  if let Some(state) = ContextState::get(scope) {
    microtask_checkpoint(scope, &state);
  }
  result.map(|value| v8::Local::new(scope, value))
}

/// Compiles and runs a classic script named `name`; `None` when it threw (the caller's TryCatch
/// holds the exception) or the source was too large for a V8 string.
fn compile_and_run<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  name: &str,
  source: &str,
) -> Option<v8::Local<'s, v8::Value>> {
  let code = v8::String::new(scope, source)?;
  let resource = v8::String::new(scope, name)?;
  let origin = modules::script_origin(scope, resource, false);
  v8::Script::compile(scope, code, Some(&origin)).and_then(|script| script.run(scope))
}
