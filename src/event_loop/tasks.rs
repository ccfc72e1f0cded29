//! The task queue of a context: where the channel core wakes the context's ports (it is their
//! [`Holder`]), from this thread or any other. Each turn of the loop drains it whole; what was
//! queued meanwhile waits for the next turn.

use super::run_queue::{Repeat, RunQueue};
use crate::channel::{Holder, HolderId, Wake, new_holder_id};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One unit of work on the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
  /// Deliver the next queued message of the port with this key (see `crate::ports`).
  Message(u64),
  /// Fire `close` at the port with this key.
  Close(u64),
  /// Run a timer's callback.
  Timer(u32),
}

impl Repeat for Task {
  fn same_run(&self, next: &Self) -> bool {
    matches!(self, Task::Message(_)) && self == next
  }
  fn repeat(&self) -> Option<Self> {
    matches!(self, Task::Message(_)).then_some(*self)
  }
}

/// The queue of tasks woken for one context, and the signal that wakes its loop when it
/// waits for another thread.
pub(crate) struct TaskQueue {
  id: HolderId,
  queue: Mutex<RunQueue<Task>>,
  notify: tokio::sync::Notify,
}

impl TaskQueue {
  pub fn new() -> Arc<Self> {
    Arc::new(TaskQueue {
      id: new_holder_id(),
      queue: Mutex::new(RunQueue::default()),
      notify: tokio::sync::Notify::new(),
    })
  }

  fn lock(&self) -> MutexGuard<'_, RunQueue<Task>> {
    // Nothing panics while the lock is held; should it ever be poisoned, the data is still sound.
    self.queue.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// Moves every queued task to the back of `turn`.
  pub fn drain_into(&self, turn: &mut RunQueue<Task>) {
    turn.append(&mut self.lock());
  }

  pub fn is_empty(&self) -> bool {
    self.lock().is_empty()
  }

  /// Resolves once a task was queued since the last wait (at once if one was queued before).
  pub async fn woken(&self) {
    self.notify.notified().await;
  }
}

impl Holder for TaskQueue {
  fn id(&self) -> HolderId {
    self.id
  }

  fn wake(&self, key: u64, wake: Wake, count: usize) {
    let task = match wake {
      Wake::Message => Task::Message(key),
      Wake::Close => Task::Close(key),
    };
    let was_empty = {
      let mut queue = self.lock();
      let was_empty = queue.is_empty();
      queue.push_back_n(task, count);
      was_empty
    };
    // A loop waiting for another thread wakes; one that is running finds a permit later.
    if was_empty {
      self.notify.notify_one();
    }
  }
}
