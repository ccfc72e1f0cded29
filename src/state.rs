//! The per-context state of the extension, kept in a context slot: the JS hooks, the ports, the
//! task queue, the timers and what was reported as uncaught. Every native reaches it through
//! [`ContextState::get`].

use crate::error::JsError;
use crate::event_loop::{Task, Timers};
use crate::messaging::Ports;
use crate::run_queue::RunQueue;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

/// Where console output and uncaught-error reports go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
  /// console.log, info, debug.
  Stdout,
  /// console.error, warn, trace and uncaught errors.
  Stderr,
}

/// A sink for console output: receives each finished line (with its newline).
pub type Output = Rc<dyn Fn(Stream, &str)>;

/// The default sink: the process's stdout and stderr.
pub fn process_output() -> Output {
  Rc::new(|stream, text| {
    use std::io::Write;
    // A closed pipe must not abort the script; the text is simply lost, as in other runtimes.
    let _ = match stream {
      Stream::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
      Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
    };
  })
}

/// The JS functions Rust calls into, registered by `js/99_bootstrap.js` through `setHooks`.
pub(crate) struct Hooks {
  /// Delivers a run of messages to a port (`js/12_message_port.js`).
  pub deliver_messages: v8::Global<v8::Function>,
  /// Tells a port its peer was collected.
  pub forget_peer: v8::Global<v8::Function>,
  pub deliver_close: v8::Global<v8::Function>,
  pub new_data_clone_error: v8::Global<v8::Function>,
  pub report_exception: v8::Global<v8::Function>,
  pub run_timer: v8::Global<v8::Function>,
  pub unhandled_rejection: v8::Global<v8::Function>,
  /// Removes the globals the compatibility settings turn off.
  pub apply_compat: v8::Global<v8::Function>,
  /// The bindings object the internal modules hold.
  pub core: v8::Global<v8::Object>,
  /// The 8 bytes behind `taskClock` in `js/03_event.js`: the start time of the current task.
  pub task_clock: v8::SharedRef<v8::BackingStore>,
  /// The 4 bytes behind `deliveryKind` in `js/12_message_port.js`: how the message
  /// `nextMessage` returns is to be delivered.
  pub delivery_kind: v8::SharedRef<v8::BackingStore>,
  pub message_port_prototype: v8::Global<v8::Object>,
  /// The context's `Object.prototype` and `Array.prototype`, for `crate::clone_kind`.
  pub object_prototype: v8::Global<v8::Object>,
  pub array_prototype: v8::Global<v8::Object>,
  /// Prototypes whose instances are platform objects that structured clone must refuse.
  pub platform_prototypes: Vec<v8::Global<v8::Object>>,
}

pub(crate) struct ContextState {
  pub start: Instant,
  pub output: Output,
  pub hooks: RefCell<Option<Rc<Hooks>>>,
  pub ports: RefCell<Ports>,
  pub tasks: RefCell<RunQueue<Task>>,
  pub timers: RefCell<Timers>,
  /// Errors reported as uncaught (printed already), oldest first.
  pub uncaught: RefCell<Vec<JsError>>,
  /// Promises rejected with no handler since the last check, with their reasons.
  pub pending_rejections: RefCell<Vec<(v8::Global<v8::Promise>, v8::Global<v8::Value>)>>,
  /// Set while the unhandled-rejection check runs, so it is not re-entered.
  pub checking_rejections: Cell<bool>,
  /// Tasks the current event-loop turn may still run; JS delivery spends it through
  /// `nextMessage` (src/event_loop.rs).
  pub delivery_budget: Cell<usize>,
}

impl Hooks {
  /// Publishes the start time of the task about to run to JS (`taskClock`).
  pub fn set_task_clock(&self, milliseconds: f64) {
    write_shared(&self.task_clock, milliseconds);
  }

  /// Tells JS how to deliver the message `nextMessage` returns (`deliveryKind`).
  pub fn set_delivery_kind(&self, kind: crate::event_loop::Delivery) {
    write_shared(&self.delivery_kind, kind as i32);
  }
}

/// Writes `value` at the start of `store`, the buffer of a typed array JS reads it from.
fn write_shared<T: Copy>(store: &v8::SharedRef<v8::BackingStore>, value: T) {
  if store.byte_length() < std::mem::size_of::<T>() {
    return;
  }
  if let Some(data) = store.data() {
    // SAFETY: the store is the live backing store of one of the internal modules' typed arrays
    // (kept alive by the SharedRef), at least `size_of::<T>()` bytes long (checked above), and
    // JS code cannot reach those arrays to detach or shrink them; the write is unaligned-safe
    // and happens on the isolate's thread while no JS runs.
    unsafe { std::ptr::write_unaligned(data.as_ptr().cast::<T>(), value) };
  }
}

impl ContextState {
  pub fn new(output: Output) -> Self {
    Self {
      start: Instant::now(),
      output,
      hooks: RefCell::new(None),
      ports: RefCell::new(Ports::default()),
      tasks: RefCell::new(RunQueue::default()),
      timers: RefCell::new(Timers::default()),
      uncaught: RefCell::new(Vec::new()),
      pending_rejections: RefCell::new(Vec::new()),
      checking_rejections: Cell::new(false),
      delivery_budget: Cell::new(0),
    }
  }

  /// The state of the scope's current context, or `None` where the extension is not installed.
  pub fn get(scope: &v8::PinScope<'_, '_>) -> Option<Rc<ContextState>> {
    scope.get_current_context().get_slot::<ContextState>()
  }

  pub fn hooks(&self) -> Option<Rc<Hooks>> {
    self.hooks.borrow().clone()
  }

  /// Prints an uncaught error and remembers it.
  pub fn report_uncaught(&self, prefix: &str, error: JsError) {
    (self.output)(
      Stream::Stderr,
      &format!("{prefix}{}\n", error.display_text()),
    );
    self.uncaught.borrow_mut().push(error);
  }
}
