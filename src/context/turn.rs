//! One turn of the event loop ([`run_tasks`]) and what runs in it: the tasks the channel core
//! and the timers queued, each in its own handle scope and followed by a microtask checkpoint
//! and the unhandled-rejection check, and `import()` loads.
//!
//! A turn runs the tasks that were queued when it began (so a message ping-pong cannot starve
//! timers, and a flood from another thread is taken in batches). A message task delivers the
//! next message of its port; while the tasks right behind it are for the same port, JS asks
//! for the next ones through `nextMessage` instead of returning ([`next_message`]): one call
//! into JS for a run of messages, each still its own task with its own checkpoint.

use super::{ContextState, Hooks, messaging};
use crate::error::JsError;
use crate::event_loop::{Poll, Task};
use std::time::Instant;

/// Runs one turn of the extension's event loop in the scope's current context: due timers,
/// `import()` loads, then the tasks queued so far, each followed by a microtask checkpoint.
///
/// This is how an embedder's own loop drives delivery (see `examples/embed.rs`): call it until
/// it returns [`Poll::Done`], sleeping until the instant of [`Poll::WaitUntil`]. Errors reported
/// during the turn are printed and collected; [`take_uncaught_errors`] returns them.
pub fn run_tasks(scope: &mut v8::PinScope<'_, '_>) -> Poll {
  let Some(state) = ContextState::get(scope) else {
    return Poll::Done;
  };
  state.ports().sweep_collected(scope);
  take_woken_tasks(scope, &state);
  // Reading the clock is not free in VMs; most turns of a message flood have no timer.
  if !state.timers.borrow().is_empty() {
    let due = state.timers().take_due(Instant::now());
    state
      .turn
      .borrow_mut()
      .extend(due.into_iter().map(Task::Timer));
  }
  // `import()` calls made since the last turn load and run their modules, each a task.
  let modules = state.modules.clone();
  modules.run_pending_imports(scope, |scope| microtask_checkpoint(scope, &state));
  let mut budget = state.turn.borrow().len();
  if budget > 0 {
    state.collected_when_idle.set(false);
  }
  while budget > 0 {
    let Some(task) = state.turn.borrow_mut().pop_front() else {
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
  }
  state.turn.borrow_mut().shrink_when_empty();
  match poll(&state) {
    Poll::Done => collect_before_the_end(scope, &state),
    poll => poll,
  }
}

/// Close on collection (https://github.com/whatwg/html/pull/9933) needs a collection: before the
/// loop ends while a port listens for `close` and is still entangled (its peer may be garbage
/// no collection has found yet), garbage is collected once, and the loop goes on if that closed
/// a port. Once per idle end: nothing is collected again until some task ran.
fn collect_before_the_end(scope: &mut v8::PinScope<'_, '_>, state: &ContextState) -> Poll {
  if state.collected_when_idle.replace(true) || !state.ports().awaits_close() {
    return Poll::Done;
  }
  // Objects a WeakRef read in this job are kept until the job ends: it has.
  scope.clear_kept_objects();
  scope.low_memory_notification();
  poll(state)
}

/// Moves the tasks the channel core queued since the last turn into this turn (which is empty:
/// the last turn ran all of its own). A port whose `close` event is among them is kept alive
/// until it ran.
fn take_woken_tasks(scope: &mut v8::PinScope<'_, '_>, state: &ContextState) {
  let closing: Vec<u64> = {
    let mut turn = state.turn.borrow_mut();
    state.tasks.drain_into(&mut turn);
    turn
      .runs()
      .filter_map(|task| match task {
        Task::Close(key) => Some(*key),
        _ => None,
      })
      .collect()
  };
  for key in closing {
    state.ports().mark_close_pending(scope, key);
  }
}

fn poll(state: &ContextState) -> Poll {
  if state.has_queued_tasks() {
    return Poll::Ready;
  }
  match state.timers.borrow().next_deadline() {
    Some(deadline) if deadline <= Instant::now() => Poll::Ready,
    Some(deadline) => Poll::WaitUntil(deadline),
    None if state.ports().waits_for_others() => Poll::Waiting,
    None => Poll::Done,
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
        let hook = v8::Local::new(scope, &hooks.events.unhandled_rejection);
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
      let hook = v8::Local::new(scope, &hooks.events.report_exception);
      call_hook(scope, state, hook, &[exception]);
    }
    None => {
      let error = JsError::from_exception(scope, exception);
      state.report_uncaught("Uncaught ", error);
    }
  }
}

fn run_task(scope: &mut v8::PinScope<'_, '_>, state: &ContextState, task: Task) {
  let Some(hooks) = state.hooks() else {
    return;
  };
  hooks.set_task_clock(state.now());
  match task {
    Task::Timer(id) => {
      let hook = v8::Local::new(scope, &hooks.events.run_timer);
      let id = v8::Integer::new_from_unsigned(scope, id).into();
      call_hook(scope, state, hook, &[id]);
    }
    Task::Close(key) => {
      let Some(object) = state.ports().take_close(scope, key) else {
        return;
      };
      let hook = v8::Local::new(scope, &hooks.delivery.deliver_close);
      call_hook(scope, state, hook, &[object.into()]);
    }
    Task::Message(key) => deliver_messages(scope, state, &hooks, key),
  }
}

/// Whether the task at the front of the turn continues a run of messages for the port `key`
/// that the turn still has budget for.
fn run_continues(state: &ContextState, key: u64) -> bool {
  state.delivery_budget.get() > 0 && state.turn.borrow().front() == Some(&Task::Message(key))
}

/// Runs a message task for the port `key` and, through `nextMessage`, the message tasks right
/// behind it for the same port: one call into JS for a whole run of messages.
fn deliver_messages(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  hooks: &Hooks,
  key: u64,
) {
  let Some(delivery) = state.ports().take_delivery(scope, key) else {
    return;
  };
  let data = messaging::message_value(scope, state, hooks, delivery.message);
  // JS does not ask for more when no run follows (ping-pong has no runs).
  let more = run_continues(state, key);
  let key = v8::Number::new(scope, key as f64).into();
  let more = v8::Boolean::new(scope, more).into();
  let hook = v8::Local::new(scope, &hooks.delivery.deliver_messages);
  call_hook(
    scope,
    state,
    hook,
    &[delivery.object.into(), key, data, more],
  );
}

/// `nextMessage(key)`, called by JS after each message it delivered: performs that task's
/// microtask checkpoint, then takes the next task if it continues the run and returns its
/// message (or the `stop` sentinel when the run is over).
pub(crate) fn next_message<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  key: u64,
) -> v8::Local<'s, v8::Value> {
  microtask_checkpoint(scope, state);
  let Some(hooks) = state.hooks() else {
    return v8::undefined(scope).into();
  };
  while run_continues(state, key) {
    state.turn.borrow_mut().pop_front();
    state.delivery_budget.set(state.delivery_budget.get() - 1);
    hooks.set_task_clock(state.now());
    // A task whose message went (the port closed or moved) delivers nothing.
    let taken = state.ports().take_next(scope, key);
    if let Some(message) = taken {
      return messaging::message_value(scope, state, &hooks, message);
    }
  }
  v8::Local::new(scope, &hooks.delivery.stop)
}

impl ContextState {
  /// Whether there are tasks to run (timers not counted): queued by the channel core, left in
  /// the turn, `import()` loads, or collected ports to sweep (whose peers get `close`).
  fn has_queued_tasks(&self) -> bool {
    !self.turn.borrow().is_empty()
      || !self.tasks.is_empty()
      || self.modules.has_pending_imports()
      || self.ports().has_collected()
  }
}

/// Whether the scope's context has tasks to run (timers not counted).
pub(crate) fn has_queued_tasks(scope: &v8::PinScope<'_, '_>) -> bool {
  ContextState::get(scope).is_some_and(|state| state.has_queued_tasks())
}

/// Whether the scope's context has queued tasks, pending `import()`s or pending timers.
pub fn has_pending_work(scope: &v8::PinScope<'_, '_>) -> bool {
  has_queued_tasks(scope)
    || ContextState::get(scope).is_some_and(|state| !state.timers.borrow().is_empty())
}

/// Blocks the calling thread until a task is queued for the scope's context (a message or a
/// close from another thread, typically) or until `until`, whichever comes first: what an
/// embedder driving [`run_tasks`] does on [`Poll::Waiting`] (with `None`) or
/// [`Poll::WaitUntil`] (with its instant), instead of polling.
pub fn wait_for_tasks(scope: &v8::PinScope<'_, '_>, until: Option<Instant>) {
  if let Some(state) = ContextState::get(scope) {
    state.tasks.wait_until(until);
  }
}

/// Takes the errors reported as uncaught so far (they were printed when they happened).
pub fn take_uncaught_errors(scope: &v8::PinScope<'_, '_>) -> Vec<JsError> {
  ContextState::get(scope)
    .map(|state| state.take_uncaught())
    .unwrap_or_default()
}
