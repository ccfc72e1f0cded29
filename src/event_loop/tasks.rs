//! The task queue of a context: where the channel core wakes the context's ports (it is their
//! [`Holder`]), from this thread or any other. Each turn of the loop drains it whole; what was
//! queued meanwhile waits for the next turn.

use super::run_queue::{Repeat, RunQueue};
use crate::channel::{Holder, HolderId, Wake, new_holder_id};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// How long a loop spins for a task from another thread before it sleeps.
#[cfg(feature = "fast-paths")]
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

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
  /// Set while the loop waits in [`TaskQueue::woken`]: only then does a wake notify it.
  waiting: AtomicBool,
  /// Signals a thread blocked in [`TaskQueue::wait_until`].
  blocked: Condvar,
  /// Set by a wake, cleared when the queue is drained: read without the lock while spinning.
  queued: AtomicBool,
  notify: tokio::sync::Notify,
}

impl TaskQueue {
  pub fn new() -> Arc<Self> {
    Arc::new(TaskQueue {
      id: new_holder_id(),
      queue: Mutex::new(RunQueue::default()),
      waiting: AtomicBool::new(false),
      blocked: Condvar::new(),
      queued: AtomicBool::new(false),
      notify: tokio::sync::Notify::new(),
    })
  }

  fn lock(&self) -> MutexGuard<'_, RunQueue<Task>> {
    // Nothing panics while the lock is held; should it ever be poisoned, the data is still sound.
    self.queue.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// Moves every queued task to the back of `turn` (swapping the queues' storage when `turn`
  /// is empty, as it usually is: no allocation).
  pub fn drain_into(&self, turn: &mut RunQueue<Task>) {
    let mut queue = self.lock();
    self.queued.store(false, Ordering::Relaxed);
    if turn.is_empty() {
      std::mem::swap(turn, &mut *queue);
    } else {
      turn.append(&mut queue);
    }
  }

  pub fn is_empty(&self) -> bool {
    self.lock().is_empty()
  }

  /// Resolves once a task is queued (at once if one is). With the `fast-paths` feature it first
  /// spins for up to [`SPIN`]: a thread parked in the kernel takes ~20 µs to wake on the VMs
  /// this was measured on, and a ping-pong partner answers sooner than that.
  pub async fn woken(&self) {
    self.spin();
    // The flag goes up before the queue is looked at, and a waker looks at the flag after it
    // queued (both under the queue's lock or sequentially consistent): either this sees the
    // task or the waker sees the flag and notifies (a notification that comes before the wait
    // is kept as a permit).
    self.waiting.store(true, Ordering::SeqCst);
    let _lowered = Lower(&self.waiting);
    if self.is_empty() {
      self.notify.notified().await;
    }
  }

  /// [`TaskQueue::woken`] for a thread that blocks: returns once a task is queued or at
  /// `until`.
  pub fn wait_until(&self, until: Option<Instant>) {
    self.spin();
    self.waiting.store(true, Ordering::SeqCst);
    let _lowered = Lower(&self.waiting);
    let mut queue = self.lock();
    while queue.is_empty() {
      queue = match until {
        None => self
          .blocked
          .wait(queue)
          .unwrap_or_else(PoisonError::into_inner),
        Some(until) => {
          let left = until.saturating_duration_since(Instant::now());
          if left.is_zero() {
            return;
          }
          self
            .blocked
            .wait_timeout(queue, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0
        }
      };
    }
  }

  /// With the fast paths: spins for up to [`SPIN`] or until a task is queued.
  fn spin(&self) {
    #[cfg(feature = "fast-paths")]
    {
      let until = Instant::now() + SPIN;
      while !self.queued.load(Ordering::Relaxed) && Instant::now() < until {
        std::hint::spin_loop();
      }
    }
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
    self.lock().push_back_n(task, count);
    self.queued.store(true, Ordering::Relaxed);
    if self.waiting.load(Ordering::SeqCst) {
      self.notify.notify_one();
      self.blocked.notify_all();
    }
  }
}

/// Lowers the waiting flag when the wait ends, also when it is abandoned (a timer came first).
struct Lower<'a>(&'a AtomicBool);

impl Drop for Lower<'_> {
  fn drop(&mut self) {
    self.0.store(false, Ordering::SeqCst);
  }
}
