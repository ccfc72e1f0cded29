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
  /// `taskClock` in `js/03_event.js`: the start time of the current task.
  pub task_clock: SharedCells<f64>,
  /// `deliveryKind` in `js/12_message_port.js`: how the message `nextMessage` returns is to
  /// be delivered.
  pub delivery_kind: SharedCells<i32>,
  /// `pendingPosts` in `js/12_message_port.js`: the port whose tape posts JS may count instead
  /// of queueing, and how many it counted (see `crate::messaging::queue_counted_posts`).
  pub pending_posts: SharedCells<i32>,
  pub message_port_prototype: v8::Global<v8::Object>,
  /// The context's `Object.prototype` and `Array.prototype`, for `crate::clone_kind`.
  pub object_prototype: v8::Global<v8::Object>,
  pub array_prototype: v8::Global<v8::Object>,
  /// Arrays of each fast elements kind with nothing but elements, never given to user code:
  /// an array with one of their maps needs no named-property check (`crate::clone_kind`).
  pub array_samples: Vec<v8::Global<v8::Array>>,
  /// Whether `crate::object_layout`'s reads hold for this V8 build (checked once).
  pub layout_known: bool,
  /// The context's global object, which `crate::clone_kind` must not take for a plain one.
  pub global_object: v8::Global<v8::Object>,
  /// Prototypes whose instances are platform objects that structured clone must refuse.
  pub platform_prototypes: Vec<v8::Global<v8::Object>>,
}

pub(crate) struct ContextState {
  /// The runtime's time origin: `performance.now()` and event time stamps count from it.
  pub start: Instant,
  /// The same moment in milliseconds since the Unix epoch (`performance.timeOrigin`).
  pub time_origin: f64,
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
    self.task_clock.set(0, milliseconds);
  }

  /// Tells JS how to deliver the message `nextMessage` returns (`deliveryKind`).
  pub fn set_delivery_kind(&self, kind: crate::event_loop::Delivery) {
    self.delivery_kind.set(0, kind as i32);
  }

  /// Takes the tape posts JS counted (`pendingPosts`): the sender and the count. JS may not
  /// count more until [`Hooks::allow_counted_posts`]. `None` when there are none.
  pub fn take_counted_posts(&self) -> Option<(u64, usize)> {
    let sender = self.pending_posts.get(0);
    if sender == 0 {
      return None;
    }
    self.pending_posts.set(0, 0);
    let count = self.pending_posts.get(1);
    self.pending_posts.set(1, 0);
    Some((u64::try_from(sender).ok()?, usize::try_from(count).ok()?)).filter(|&(_, n)| n > 0)
  }

  /// Lets JS count further tape posts of `sender` (its last one ends Rust's queues).
  pub fn allow_counted_posts(&self, sender: u64) {
    if let Ok(sender) = i32::try_from(sender) {
      self.pending_posts.set(0, sender);
    }
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

  pub fn get(&self, index: usize) -> T {
    assert!(index < self.len);
    // SAFETY: `index < len` and the store holds `len` elements (checked in `new`), kept alive
    // by `_store` and never detached or resized (see the type); reads are unaligned-safe and
    // happen on the isolate's thread while no JS runs.
    unsafe { std::ptr::read_unaligned(self.cells.as_ptr().add(index)) }
  }

  pub fn set(&self, index: usize, value: T) {
    assert!(index < self.len);
    // SAFETY: as in `get`; the memory is not Rust's, so writing through `&self` aliases no
    // Rust reference.
    unsafe { std::ptr::write_unaligned(self.cells.as_ptr().add(index), value) };
  }
}

impl ContextState {
  pub fn new(output: Output) -> Self {
    let start = Instant::now();
    let time_origin = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)
      .map_or(0.0, |since| since.as_secs_f64() * 1000.0);
    Self {
      start,
      time_origin,
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

  /// Drops `promise` from the rejections waiting to be reported as unhandled.
  pub fn forget_rejection(&self, promise: v8::Local<'_, v8::Promise>) {
    self
      .pending_rejections
      .borrow_mut()
      .retain(|(pending, _)| *pending != promise);
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
