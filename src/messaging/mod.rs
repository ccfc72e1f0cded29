//! Entangled port pairs: the Rust half of `MessageChannel` / `MessagePort`.
//!
//! Each port has a named state ([`PortState`]) and a queue. Posting serializes first, then
//! appends to the peer's queue; a started port turns each queued message into one task on the
//! event loop, so delivery is in order, one message per task, O(1) per message, and never leaves
//! the thread. JS objects are held weakly: a port JS can no longer reach is collected and its
//! record freed (see [`Ports::sweep_collected`]).

mod natives;

pub(crate) use natives::{
  port_close, port_pair, port_post, port_post_tape, port_start, queue_counted_posts,
};

use crate::clone::Message;
use crate::event_loop::Task;
use crate::run_queue::RunQueue;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// Port ids are small sequential integers: they are their own hash (SipHash showed up in
/// profiles of the message path).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
  fn finish(&self) -> u64 {
    self.0
  }
  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.0 = (self.0 << 8) | u64::from(byte);
    }
  }
  fn write_u64(&mut self, id: u64) {
    self.0 = id;
  }
}

type PortMap = HashMap<PortId, Port, BuildHasherDefault<IdHasher>>;

pub(crate) type PortId = u64;

/// https://html.spec.whatwg.org/multipage/web-messaging.html#port-message-queue
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortState {
  /// The queue is disabled: messages wait until `start()` or `onmessage`.
  Pending,
  /// Every queued message has a delivery task on the event loop.
  Started,
  /// `close()` was called: nothing is sent or delivered any more.
  Closed,
}

pub(crate) struct Port {
  object: v8::Weak<v8::Object>,
  /// Held while tasks for this port are queued, so the target outlives its tasks.
  strong: Option<v8::Global<v8::Object>>,
  peer: Option<PortId>,
  state: PortState,
  queue: RunQueue<Message>,
  queued_tasks: usize,
  close_event_queued: bool,
}

#[derive(Default)]
pub(crate) struct Ports {
  next_id: PortId,
  ports: PortMap,
  /// Ids whose JS objects the GC finalized; swept at the start of an event-loop turn because
  /// finalizers must not touch the map while it may be borrowed.
  collected: Rc<RefCell<Vec<PortId>>>,
  /// Ports whose peer was swept, for JS to hear of (see `take_disentangled`).
  disentangled: Vec<PortId>,
}

impl Ports {
  pub fn len(&self) -> usize {
    self.ports.len()
  }

  /// Queued, undelivered messages over all ports (for leak checks).
  pub fn queued_messages(&self) -> usize {
    self.ports.values().map(|p| p.queue.len()).sum()
  }

  /// Frees the records of ports whose JS objects were collected.
  pub fn sweep_collected(&mut self) {
    let collected = std::mem::take(&mut *self.collected.borrow_mut());
    for id in collected {
      if let Some(port) = self.ports.remove(&id)
        && let Some(peer_id) = port.peer
        && let Some(peer) = self.ports.get_mut(&peer_id)
      {
        // The peer can no longer be posted to: it is disentangled. (A close event for
        // garbage-collected peers is planned; Workers does not fire one either.)
        peer.peer = None;
        self.disentangled.push(peer_id);
      }
    }
  }

  /// The JS objects of ports whose peer was collected since the last call: JS lets go of the
  /// peer's message tape through them (`forgetPeer` in `js/12_message_port.js`).
  pub fn take_disentangled<'s>(
    &mut self,
    scope: &mut v8::PinScope<'s, '_>,
  ) -> Vec<v8::Local<'s, v8::Object>> {
    std::mem::take(&mut self.disentangled)
      .into_iter()
      .filter_map(|id| self.ports.get(&id)?.object.to_local(scope))
      .collect()
  }

  pub fn has_disentangled(&self) -> bool {
    !self.disentangled.is_empty()
  }

  fn allocate_pair(&mut self) -> PortId {
    self.next_id += 2;
    self.next_id - 1
  }

  /// Queues one task for `id` and keeps its JS object alive until the task has run.
  fn queue_task(
    &mut self,
    isolate: &mut v8::Isolate,
    tasks: &mut RunQueue<Task>,
    id: PortId,
    task: Task,
  ) -> bool {
    let Some(port) = self.ports.get_mut(&id) else {
      return false;
    };
    if port.queued_tasks == 0 {
      port.strong = port.object.to_global(isolate);
      if port.strong.is_none() {
        return false;
      }
    }
    port.queued_tasks += 1;
    tasks.push_back(task);
    true
  }

  /// Counts one task of `id` as run and lets go of the port object after the last one. The
  /// port, unless it is gone (its object is held while it has tasks, so it has one here).
  fn count_task_run(&mut self, id: PortId) -> Option<&mut Port> {
    let port = self.ports.get_mut(&id)?;
    port.queued_tasks = port.queued_tasks.saturating_sub(1);
    port.strong.as_ref()?;
    if port.queued_tasks == 0 {
      port.strong = None;
    }
    Some(port)
  }

  /// The next message of a run being delivered (`crate::event_loop::next_message`): as
  /// [`Ports::take_for_task`], without a handle to the port object, which JS holds already.
  pub fn take_next_message(&mut self, id: PortId) -> Option<Message> {
    self.count_task_run(id)?.next_message()
  }

  /// Takes what a delivery task for `id` needs: the port object and, for a message task, the
  /// next message. `None` when the port is gone or closed (the message is dropped).
  pub fn take_for_task<'s>(
    &mut self,
    scope: &mut v8::PinScope<'s, '_>,
    id: PortId,
    message: bool,
  ) -> Option<TaskTarget<'s>> {
    // The handle first: counting the task may let go of the port's strong reference.
    let object = v8::Local::new(scope, self.ports.get(&id)?.strong.as_ref()?);
    let port = self.count_task_run(id)?;
    let message = if message {
      Some(port.next_message()?)
    } else {
      None
    };
    Some(TaskTarget { object, message })
  }
}

impl Port {
  /// The next queued message, unless the port is closed (its messages are dropped).
  fn next_message(&mut self) -> Option<Message> {
    if self.state == PortState::Closed {
      return None;
    }
    self.queue.pop_front()
  }
}

pub(crate) struct TaskTarget<'s> {
  pub object: v8::Local<'s, v8::Object>,
  pub message: Option<Message>,
}
