//! The per-context state of the extension, kept in a context slot, and what acts on the whole
//! of it: one turn of the event loop ([`turn`]), the message operations that span ports, clone
//! and the loop ([`messaging`]), and the natives JS calls ([`natives`]). Everything below this
//! module (`channel`, `ports`, `clone`, `event_loop`, `modules`) knows nothing of it.

mod messaging;
mod natives;
mod turn;

pub(crate) use messaging::adopt_port;
pub use messaging::adopt_port_into;
pub(crate) use natives::{create_bindings, external_references, read_hooks, set_natives};
pub use turn::{has_pending_work, run_tasks, take_uncaught_errors, wait_for_tasks};
pub(crate) use turn::{has_queued_tasks, microtask_checkpoint, report_exception};

use crate::clone::CloneRealm;
use crate::error::JsError;
use crate::event_loop::{RunQueue, Task, TaskQueue, Timers};
use crate::modules::ModuleState;
use crate::ports::Ports;
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::rc::Rc;
use std::sync::Arc;
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

/// Sets the size limit of a message posted in the current context of `scope` (in bytes of its
/// serialized form; [`DEFAULT_MAX_MESSAGE_SIZE`] until set): `postMessage` of a larger message
/// throws a `DataCloneError` and sends nothing. Messages arriving from elsewhere are not
/// checked. Does nothing where the extension is not installed.
///
/// ```no_run
/// # fn demo(scope: &mut v8::PinScope<'_, '_>) {
/// v8_message_channel::set_max_message_size(scope, 16 << 20);
/// # }
/// ```
pub fn set_max_message_size(scope: &mut v8::PinScope<'_, '_>, bytes: usize) {
  if let Some(state) = ContextState::get(scope) {
    state.set_max_message_size(bytes);
  }
}

/// The size limit of a message unless set otherwise: 256 MiB of its serialized form.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = crate::tables::DEFAULT_MAX_MESSAGE_SIZE as usize;

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

/// The JS functions and objects Rust calls into, registered by `js/99_bootstrap.js` through
/// `setHooks`, by job.
pub(crate) struct Hooks {
  /// The bindings object the internal modules hold (after a snapshot restore Rust puts fresh
  /// natives on it).
  pub core: v8::Global<v8::Object>,
  /// Removes the globals the compatibility settings turn off.
  pub apply_compat: v8::Global<v8::Function>,
  pub events: EventHooks,
  pub delivery: DeliveryHooks,
  /// What structured clone needs of this realm.
  pub realm: Rc<CloneRealm>,
  /// `taskClock` in `js/03_event.js`: the start time of the current task.
  pub task_clock: SharedCells<f64>,
  /// `messageLimit` in `js/11_message_copy.js`: the size limit of a message.
  pub message_limit: SharedCells<f64>,
}

/// How errors, timers and rejections reach JS.
pub(crate) struct EventHooks {
  pub report_exception: v8::Global<v8::Function>,
  pub run_timer: v8::Global<v8::Function>,
  pub unhandled_rejection: v8::Global<v8::Function>,
}

/// How messages, ports and close events reach JS (`js/12_message_port.js`).
pub(crate) struct DeliveryHooks {
  /// `deliverMessages(port, key, data, more)`: delivers a run of messages to a port.
  pub deliver_messages: v8::Global<v8::Function>,
  /// `deliverClose(port)`.
  pub deliver_close: v8::Global<v8::Function>,
  /// `newPort(key)`: the JS port of an end that arrived here.
  pub new_port: v8::Global<v8::Function>,
  /// `withPorts(data, ports)`: a message's data with the ports it carries, as one value.
  pub with_ports: v8::Global<v8::Function>,
  /// Returned by `nextMessage` when the run of deliveries stops.
  pub stop: v8::Global<v8::Value>,
  /// Delivered in place of a message that could not be rebuilt (a `messageerror`).
  pub lost: v8::Global<v8::Value>,
}

impl Hooks {
  /// Publishes the start time of the task about to run to JS (`taskClock`).
  pub fn set_task_clock(&self, milliseconds: f64) {
    self.task_clock.set(0, milliseconds);
  }
}

/// The elements of one of the internal modules' typed arrays, which Rust and JS both read and
/// write (never at the same time: JS and Rust take turns on the isolate's thread). The address
/// is taken once; nothing can detach or resize the buffer, as no user code can reach it.
pub(crate) struct SharedCells<T> {
  cells: std::ptr::NonNull<T>,
  len: usize,
  /// Keeps the memory alive.
  _store: v8::SharedRef<v8::BackingStore>,
}

impl<T: Copy> SharedCells<T> {
  /// The first `len` elements of `store`, or `None` if it is shorter or has no memory.
  pub fn new(store: v8::SharedRef<v8::BackingStore>, len: usize) -> Option<Self> {
    if store.byte_length() < len * std::mem::size_of::<T>() || store.is_shared() {
      return None;
    }
    let cells = store.data()?.cast::<T>();
    Some(Self {
      cells,
      len,
      _store: store,
    })
  }

  pub fn set(&self, index: usize, value: T) {
    assert!(index < self.len);
    // SAFETY: `index < len` and the store holds `len` elements (checked in `new`), kept alive
    // by `_store` and never detached or resized (see the type); the write is unaligned-safe and
    // happens on the isolate's thread while no JS runs. The memory is not Rust's, so writing
    // through `&self` aliases no Rust reference.
    unsafe { std::ptr::write_unaligned(self.cells.as_ptr().add(index), value) };
  }
}

pub(crate) struct ContextState {
  /// The runtime's time origin: `performance.now()` and event time stamps count from it.
  start: Instant,
  /// The same moment in milliseconds since the Unix epoch (`performance.timeOrigin`).
  time_origin: f64,
  output: Output,
  hooks: RefCell<Option<Rc<Hooks>>>,
  /// Where the channel core wakes this context's ports, from any thread.
  tasks: Arc<TaskQueue>,
  /// The tasks of the current turn (drained from `tasks` when it began, plus due timers).
  turn: RefCell<RunQueue<Task>>,
  timers: RefCell<Timers>,
  ports: RefCell<Ports>,
  /// The context's modules (their pending `import()`s are tasks of the loop).
  modules: Rc<ModuleState>,
  /// Errors reported as uncaught (printed already), oldest first.
  uncaught: RefCell<Vec<JsError>>,
  /// Promises rejected with no handler since the last check, with their reasons.
  pending_rejections: RefCell<Vec<(v8::Global<v8::Promise>, v8::Global<v8::Value>)>>,
  /// Set while the unhandled-rejection check runs, so it is not re-entered.
  checking_rejections: Cell<bool>,
  /// Tasks the current turn may still run; a run of deliveries spends it through
  /// `nextMessage` (`turn::next_message`).
  delivery_budget: Cell<usize>,
  /// Whether MessagePorts may be transferred (a compatibility flag).
  transfer_ports: Cell<bool>,
  /// The size limit of a posted message, in serialized bytes.
  max_message_size: Cell<usize>,
  /// The loop collected garbage when it had nothing else to do, and nothing ran since.
  collected_when_idle: Cell<bool>,
}

impl ContextState {
  pub fn new(output: Output, modules: Rc<ModuleState>) -> Self {
    let start = Instant::now();
    let time_origin = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)
      .map_or(0.0, |since| since.as_secs_f64() * 1000.0);
    let tasks = TaskQueue::new();
    Self {
      start,
      time_origin,
      output,
      hooks: RefCell::new(None),
      ports: RefCell::new(Ports::new(tasks.clone())),
      tasks,
      modules,
      turn: RefCell::new(RunQueue::default()),
      timers: RefCell::new(Timers::default()),
      uncaught: RefCell::new(Vec::new()),
      pending_rejections: RefCell::new(Vec::new()),
      checking_rejections: Cell::new(false),
      delivery_budget: Cell::new(0),
      transfer_ports: Cell::new(false),
      max_message_size: Cell::new(DEFAULT_MAX_MESSAGE_SIZE),
      collected_when_idle: Cell::new(false),
    }
  }

  /// The state of the scope's current context, or `None` where the extension is not installed.
  pub fn get(scope: &v8::PinScope<'_, '_>) -> Option<Rc<ContextState>> {
    scope.get_current_context().get_slot::<ContextState>()
  }

  pub fn hooks(&self) -> Option<Rc<Hooks>> {
    self.hooks.borrow().clone()
  }

  /// Borrows the hooks without counting a reference (for the natives on the message path).
  pub fn hooks_ref(&self) -> Ref<'_, Option<Rc<Hooks>>> {
    self.hooks.borrow()
  }

  pub fn set_hooks(&self, hooks: Hooks) {
    *self.hooks.borrow_mut() = Some(Rc::new(hooks));
  }

  /// Where the channel core wakes this context's ports (the loop waits on it).
  pub fn task_queue(&self) -> Arc<TaskQueue> {
    self.tasks.clone()
  }

  pub fn ports(&self) -> RefMut<'_, Ports> {
    self.ports.borrow_mut()
  }

  pub fn timers(&self) -> RefMut<'_, Timers> {
    self.timers.borrow_mut()
  }

  /// Milliseconds since the time origin.
  pub fn now(&self) -> f64 {
    self.start.elapsed().as_secs_f64() * 1000.0
  }

  pub fn time_origin(&self) -> f64 {
    self.time_origin
  }

  pub fn output(&self, stream: Stream, text: &str) {
    (self.output)(stream, text);
  }

  pub fn set_transfer_ports(&self, allowed: bool) {
    self.transfer_ports.set(allowed);
  }

  pub fn transfer_ports(&self) -> bool {
    self.transfer_ports.get()
  }

  /// The size limit of a posted message, in serialized bytes.
  pub fn max_message_size(&self) -> usize {
    self.max_message_size.get()
  }

  fn set_max_message_size(&self, bytes: usize) {
    self.max_message_size.set(bytes);
    if let Some(hooks) = self.hooks() {
      // f64 holds every size a process can allocate exactly enough for a limit.
      hooks.message_limit.set(0, bytes as f64);
    }
  }

  /// Drops `promise` from the rejections waiting to be reported as unhandled.
  pub fn forget_rejection(&self, promise: v8::Local<'_, v8::Promise>) {
    self
      .pending_rejections
      .borrow_mut()
      .retain(|(pending, _)| *pending != promise);
  }

  /// Remembers a promise rejected with no handler (reported at the next checkpoint).
  pub fn track_rejection(&self, promise: v8::Global<v8::Promise>, reason: v8::Global<v8::Value>) {
    self.pending_rejections.borrow_mut().push((promise, reason));
  }

  /// Prints an uncaught error and remembers it.
  pub fn report_uncaught(&self, prefix: &str, error: JsError) {
    (self.output)(
      Stream::Stderr,
      &format!("{prefix}{}\n", error.display_text()),
    );
    self.uncaught.borrow_mut().push(error);
  }

  pub fn take_uncaught(&self) -> Vec<JsError> {
    std::mem::take(&mut *self.uncaught.borrow_mut())
  }
}
