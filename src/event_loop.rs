//! The task queue and timers, and [`run_tasks`], one turn of the event loop.
//!
//! A turn moves due timers into the task queue, then runs the tasks that were queued when the
//! turn began (so a message ping-pong cannot starve timers), each in its own handle scope and
//! each followed by a microtask checkpoint and the unhandled-rejection check. The loop is done
//! when no task and no timer is left: a started port that waits for messages keeps nothing alive.

use crate::error::JsError;
use crate::messaging::{PortId, queue_counted_posts};
use crate::state::{ContextState, Hooks};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// One unit of work on the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
  /// Deliver the next queued message of a port.
  Message(PortId),
  /// Fire `close` at a port.
  Close(PortId),
  /// Run a timer's callback.
  Timer(u32),
}

impl crate::run_queue::Repeat for Task {
  fn same_run(&self, next: &Self) -> bool {
    matches!(self, Task::Message(_)) && self == next
  }
  fn repeat(&self) -> Option<Self> {
    matches!(self, Task::Message(_)).then_some(*self)
  }
}

/// Pending timers by deadline (ties broken by scheduling order).
#[derive(Default)]
pub(crate) struct Timers {
  by_deadline: BTreeMap<(Instant, u64), u32>,
  by_id: HashMap<u32, (Instant, u64)>,
  sequence: u64,
}

impl Timers {
  pub fn schedule(&mut self, id: u32, delay: Duration) {
    self.cancel(id);
    self.sequence += 1;
    let key = (Instant::now() + delay, self.sequence);
    self.by_deadline.insert(key, id);
    self.by_id.insert(id, key);
  }

  pub fn cancel(&mut self, id: u32) {
    if let Some(key) = self.by_id.remove(&id) {
      self.by_deadline.remove(&key);
    }
  }

  fn take_due(&mut self, now: Instant) -> Vec<u32> {
    let mut due = Vec::new();
    while let Some(entry) = self.by_deadline.first_entry() {
      if entry.key().0 > now {
        break;
      }
      let id = entry.remove();
      self.by_id.remove(&id);
      due.push(id);
    }
    due
  }

  pub fn next_deadline(&self) -> Option<Instant> {
    self
      .by_deadline
      .keys()
      .next()
      .map(|(deadline, _)| *deadline)
  }

  pub fn is_empty(&self) -> bool {
    self.by_deadline.is_empty()
  }
}

/// What the event loop should do after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
  /// Tasks are queued: run another turn soon (after letting other futures run, if you like).
  Ready,
  /// Only timers are left: run another turn at this instant.
  WaitUntil(Instant),
  /// Nothing is left to do.
  Done,
}

/// Runs one turn of the extension's event loop in the scope's current context: due timers, then
/// the tasks queued so far, each followed by a microtask checkpoint.
///
/// This is how an embedder's own loop drives delivery (see `examples/embed.rs`): call it until
/// it returns [`Poll::Done`], sleeping until the instant of [`Poll::WaitUntil`]. Errors reported
/// during the turn are printed and collected; [`take_uncaught_errors`] returns them.
pub fn run_tasks(scope: &mut v8::PinScope<'_, '_>) -> Poll {
  let Some(state) = ContextState::get(scope) else {
    return Poll::Done;
  };
  queue_counted_posts(&state);
  state.ports.borrow_mut().sweep_collected();
  forget_collected_peers(scope, &state);
  // Reading the clock is not free in VMs; most turns of a message flood have no timer.
  if !state.timers.borrow().is_empty() {
    let due = state.timers.borrow_mut().take_due(Instant::now());
    state
      .tasks
      .borrow_mut()
      .extend(due.into_iter().map(Task::Timer));
  }
  // `import()` calls made since the last turn load and run their modules, each a task.
  crate::modules::run_pending_imports(scope, |scope| microtask_checkpoint(scope, &state));
  // Only the tasks queued when the turn began run in it (a message flood cannot starve timers).
  let mut budget = state.tasks.borrow().len();
  while budget > 0 {
    let Some(task) = state.tasks.borrow_mut().pop_front() else {
      break;
    };
    budget -= 1;
    {
      v8::scope!(let scope, scope);
      // A message task goes on delivering in JS while the next tasks are messages for the same
      // port (see `next_message`), spending the turn's budget.
      state.delivery_budget.set(budget);
      run_task(scope, &state, task);
      budget = state.delivery_budget.replace(0);
    }
    microtask_checkpoint(scope, &state);
    queue_counted_posts(&state);
  }
  if !state.tasks.borrow().is_empty() || crate::modules::has_pending_imports(scope) {
    return Poll::Ready;
  }
  match state.timers.borrow().next_deadline() {
    Some(deadline) if deadline <= Instant::now() => Poll::Ready,
    Some(deadline) => Poll::WaitUntil(deadline),
    None => Poll::Done,
  }
}

/// Tells the ports whose peer was collected, so they let go of the peer's message tape (what
/// was posted to it before the sweep would otherwise stay reachable from the sender).
fn forget_collected_peers(scope: &mut v8::PinScope<'_, '_>, state: &ContextState) {
  if !state.ports.borrow().has_disentangled() {
    return;
  }
  v8::scope!(let scope, scope);
  let ports = state.ports.borrow_mut().take_disentangled(scope);
  if ports.is_empty() {
    return;
  }
  let Some(hooks) = state.hooks() else {
    return;
  };
  let hook = v8::Local::new(scope, &hooks.forget_peer);
  for port in ports {
    call_hook(scope, state, hook, &[port.into()]);
  }
}

/// Performs a microtask checkpoint, then reports promises rejected with no handler
/// (https://html.spec.whatwg.org/multipage/webappapis.html#notify-about-rejected-promises).
pub(crate) fn microtask_checkpoint(scope: &mut v8::PinScope<'_, '_>, state: &ContextState) {
  scope.perform_microtask_checkpoint();
  if state.checking_rejections.get() {
    return;
  }
  state.checking_rejections.set(true);
  loop {
    let pending = std::mem::take(&mut *state.pending_rejections.borrow_mut());
    if pending.is_empty() {
      break;
    }
    for (promise, reason) in pending {
      v8::scope!(let scope, scope);
      let promise = v8::Local::new(scope, promise);
      let reason = v8::Local::new(scope, reason);
      let not_canceled = state.hooks().is_none_or(|hooks| {
        let hook = v8::Local::new(scope, &hooks.unhandled_rejection);
        call_hook(scope, state, hook, &[promise.into(), reason]).is_none_or(|r| r.is_true())
      });
      if not_canceled {
        let error = JsError::from_exception(scope, reason);
        state.report_uncaught("Uncaught (in promise) ", error);
      }
    }
    scope.perform_microtask_checkpoint();
  }
  state.checking_rejections.set(false);
}

/// Calls a JS hook; an exception escaping it is reported as uncaught (hooks catch listener
/// exceptions themselves, so this means a bug or an exhausted heap).
fn call_hook<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  hook: v8::Local<'s, v8::Function>,
  args: &[v8::Local<'s, v8::Value>],
) -> Option<v8::Local<'s, v8::Value>> {
  v8::tc_scope!(let scope, scope);
  let undefined = v8::undefined(scope).into();
  let result = hook.call(scope, undefined, args);
  if result.is_none()
    && let Some(exception) = scope.exception()
  {
    let error = JsError::from_exception(scope, exception);
    state.report_uncaught("Uncaught ", error);
  }
  result
}

/// Reports an exception the way a listener's is reported: an `error` event on the global object,
/// printed as uncaught unless a listener cancels it.
pub(crate) fn report_exception<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  exception: v8::Local<'s, v8::Value>,
) {
  match state.hooks() {
    Some(hooks) => {
      let hook = v8::Local::new(scope, &hooks.report_exception);
      call_hook(scope, state, hook, &[exception]);
    }
    None => {
      let error = JsError::from_exception(scope, exception);
      state.report_uncaught("Uncaught ", error);
    }
  }
}

/// Publishes the start time of the task about to run to JS (`taskClock`).
fn stamp_task_start(state: &ContextState, hooks: &Hooks) {
  hooks.set_task_clock(state.start.elapsed().as_secs_f64() * 1000.0);
}

fn run_task(scope: &mut v8::PinScope<'_, '_>, state: &ContextState, task: Task) {
  let Some(hooks) = state.hooks() else {
    return;
  };
  stamp_task_start(state, &hooks);
  match task {
    Task::Timer(id) => {
      let hook = v8::Local::new(scope, &hooks.run_timer);
      let id = v8::Integer::new_from_unsigned(scope, id).into();
      call_hook(scope, state, hook, &[id]);
    }
    Task::Close(port) => {
      let Some(target) = state.ports.borrow_mut().take_for_task(scope, port, false) else {
        return;
      };
      let object = target.object.into();
      let hook = v8::Local::new(scope, &hooks.deliver_close);
      call_hook(scope, state, hook, &[object]);
    }
    Task::Message(port) => deliver_messages(scope, state, &hooks, port),
  }
}

/// How a message reaches JS (`js/12_message_port.js` reads it from its `deliveryKind` slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
  /// The message as a value.
  Value = 0,
  /// A tape message (js/11_message_tape.js), with its side list or undefined.
  Tape = 1,
  /// A tape message whose side list could not be rebuilt: it becomes a messageerror.
  TapeLost = 2,
  /// A message that could not be deserialized: a messageerror.
  Lost = 3,
  /// The task was for a port that is closed or gone: nothing to deliver.
  Skip = 4,
  /// The next task is not a message for this port, or the turn's budget is spent.
  Stop = 5,
}

/// Turns a queued message into what JS delivers. A failure leaves no exception pending.
fn message_for_js<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  message: crate::clone::Message,
) -> (v8::Local<'s, v8::Value>, Delivery) {
  use crate::clone::{Message, value_of};
  let (message, ok, lost) = match message {
    Message::Tape(None) => return (v8::undefined(scope).into(), Delivery::Tape),
    Message::Tape(Some(side)) => (*side, Delivery::Tape, Delivery::TapeLost),
    message => (message, Delivery::Value, Delivery::Lost),
  };
  if let Message::Primitive(_) | Message::Bytes(_) = message {
    // Rebuilding these runs no JS and cannot throw (short of exhausting memory).
    return match value_of(scope, message) {
      Some(value) => (value, ok),
      None => (v8::undefined(scope).into(), lost),
    };
  }
  // A message that cannot be deserialized becomes a messageerror event, not an exception.
  let value = {
    v8::tc_scope!(let tc, scope);
    let value = value_of(tc, message).map(|value| v8::Global::new(tc, value));
    if value.is_none() {
      tc.reset();
    }
    value
  };
  match value {
    Some(value) => (v8::Local::new(scope, value), ok),
    None => (v8::undefined(scope).into(), lost),
  }
}

/// Whether the task at the front of the queue continues a run of messages for `port` that the
/// current turn still has budget for.
fn run_continues(state: &ContextState, port: PortId) -> bool {
  queue_counted_posts(state);
  state.delivery_budget.get() > 0 && state.tasks.borrow().front() == Some(&Task::Message(port))
}

/// Runs a message task for `port` and, through `nextMessage`, the message tasks right behind it
/// for the same port: one call into JS for a whole run of messages.
fn deliver_messages(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  hooks: &Hooks,
  port: PortId,
) {
  let Some(target) = state.ports.borrow_mut().take_for_task(scope, port, true) else {
    return;
  };
  let message = target.message.expect("message tasks carry a message");
  let (data, kind) = message_for_js(scope, message);
  // JS does not ask for more when no run follows (ping-pong has no runs).
  let more = run_continues(state, port);
  let id = v8::Number::new(scope, port as f64).into();
  let kind = v8::Integer::new(scope, kind as i32).into();
  let more = v8::Boolean::new(scope, more).into();
  let hook = v8::Local::new(scope, &hooks.deliver_messages);
  call_hook(
    scope,
    state,
    hook,
    &[target.object.into(), id, data, kind, more],
  );
}

/// `nextMessage(port)`, called by JS after each message it delivered: performs that task's
/// microtask checkpoint, then takes the next task if it continues the run. Returns the message
/// and tells JS how to deliver it through the `deliveryKind` slot.
pub(crate) fn next_message<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  port: PortId,
) -> v8::Local<'s, v8::Value> {
  microtask_checkpoint(scope, state);
  let Some(hooks) = state.hooks() else {
    return v8::undefined(scope).into();
  };
  let (data, kind) = if run_continues(state, port) {
    state.tasks.borrow_mut().pop_front();
    state.delivery_budget.set(state.delivery_budget.get() - 1);
    stamp_task_start(state, &hooks);
    let taken = state.ports.borrow_mut().take_next_message(port);
    match taken {
      Some(message) => message_for_js(scope, message),
      None => (v8::undefined(scope).into(), Delivery::Skip),
    }
  } else {
    (v8::undefined(scope).into(), Delivery::Stop)
  };
  hooks.set_delivery_kind(kind);
  data
}

/// Whether the scope's context has tasks queued (timers not counted).
pub(crate) fn has_queued_tasks(scope: &v8::PinScope<'_, '_>) -> bool {
  crate::modules::has_pending_imports(scope)
    || ContextState::get(scope).is_some_and(|state| {
      queue_counted_posts(&state);
      !state.tasks.borrow().is_empty()
    })
}

/// Whether the scope's context has queued tasks, pending `import()`s or pending timers.
pub fn has_pending_work(scope: &v8::PinScope<'_, '_>) -> bool {
  has_queued_tasks(scope)
    || ContextState::get(scope).is_some_and(|state| !state.timers.borrow().is_empty())
}

/// Takes the errors reported as uncaught so far (they were printed when they happened).
pub fn take_uncaught_errors(scope: &v8::PinScope<'_, '_>) -> Vec<JsError> {
  ContextState::get(scope)
    .map(|state| std::mem::take(&mut *state.uncaught.borrow_mut()))
    .unwrap_or_default()
}
