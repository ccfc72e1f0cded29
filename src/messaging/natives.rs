//! The port operations JS calls: `portPair`, `portPost`, `portStart`, `portClose`.
//! Each follows the HTML spec's steps, noted inline where the order matters.

use super::{Port, PortId, PortState};
use crate::clone::{self, Message};
use crate::event_loop::Task;
use crate::run_queue::RunQueue;
use crate::state::ContextState;

fn keep_alive_key<'s>(scope: &mut v8::PinScope<'s, '_>) -> v8::Local<'s, v8::Private> {
  let name = v8::String::new(scope, "v8mc.entangledListener").expect("short string");
  v8::Private::for_api(scope, Some(name))
}

/// Makes `holder` keep `kept` alive (or stops it, with `None`): a started port must live as
/// long as its peer can still post to it, even when only its own listener refers to it
/// (https://html.spec.whatwg.org/multipage/web-messaging.html#ports-and-garbage-collection).
fn set_keep_alive(
  scope: &mut v8::PinScope<'_, '_>,
  holder: &v8::Weak<v8::Object>,
  kept: Option<&v8::Weak<v8::Object>>,
) {
  let Some(holder) = holder.to_local(scope) else {
    return;
  };
  let key = keep_alive_key(scope);
  match kept.and_then(|kept| kept.to_local(scope)) {
    Some(kept) => {
      holder.set_private(scope, key, kept.into());
    }
    None => {
      holder.delete_private(scope, key);
    }
  }
}

/// `portPair(port1, port2)`: registers a new entangled pair, returns the id of port1 (port2's
/// is one more).
pub(crate) fn port_pair(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  port1: v8::Local<'_, v8::Object>,
  port2: v8::Local<'_, v8::Object>,
) -> PortId {
  let mut ports = state.ports.borrow_mut();
  let id = ports.allocate_pair();
  for (own, peer, object) in [(id, id + 1, port1), (id + 1, id, port2)] {
    let collected = ports.collected.clone();
    let weak = v8::Weak::with_finalizer(
      scope,
      object,
      // Runs inside a GC callback, where a panic would abort: `collected` is only ever borrowed
      // for a moment by sweep_collected, which calls no V8 code meanwhile, so this borrow
      // succeeds; were it ever not to, that one record would stay until the runtime is dropped.
      Box::new(move |_| {
        if let Ok(mut collected) = collected.try_borrow_mut() {
          collected.push(own);
        }
      }),
    );
    ports.ports.insert(
      own,
      Port {
        object: weak,
        strong: None,
        peer: Some(peer),
        state: PortState::Pending,
        queue: RunQueue::default(),
        queued_tasks: 0,
        close_event_queued: false,
      },
    );
  }
  id
}

/// `postMessage`: https://html.spec.whatwg.org/multipage/web-messaging.html#message-port-post-message-steps
/// Returns `None` with an exception pending when serialization failed.
pub(crate) fn port_post<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  id: PortId,
  message: v8::Local<'s, v8::Value>,
  transfer: &[v8::Local<'s, v8::Value>],
) -> Option<()> {
  let hooks = state.hooks()?;
  // Serialize before looking for the peer: a closed or disentangled port still throws for an
  // unclonable message, so the behaviour does not depend on whether the peer is reachable.
  let serialized = clone::message_of(scope, &hooks, message, transfer)?;
  enqueue(scope, state, id, serialized);
  Some(())
}

/// `postMessage` of a message that JS copied onto the peer's tape (`js/11_message_tape.js`),
/// with the values it left to the serializer in `side`. Returns whether the message was queued:
/// when it was not, JS takes it off the tape again. `None` with an exception pending when `side`
/// could not be serialized.
pub(crate) fn port_post_tape<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  id: PortId,
  side: Option<v8::Local<'s, v8::Value>>,
) -> Option<bool> {
  let hooks = state.hooks()?;
  let plain = side.is_none();
  let side = match side {
    Some(side) => Some(Box::new(clone::message_of(scope, &hooks, side, &[])?)),
    None => None,
  };
  let queued = enqueue(scope, state, id, Message::Tape(side));
  if queued && plain {
    hooks.allow_counted_posts(id);
  }
  Some(queued)
}

/// Queues the tape posts JS counted instead of calling `portPostTape` (`pendingPosts` in
/// `js/12_message_port.js`) and stops JS from counting more. JS counts only right after a tape
/// post that was queued, and only until Rust next touches a queue, so the counted posts go
/// where that post went, as it went. Everything that reads or changes the queues calls this
/// first: the port natives, `nextMessage`, the event loop and the Runtime's counts.
pub(crate) fn queue_counted_posts(state: &ContextState) {
  let taken = (state.hooks.borrow().as_ref()).and_then(|hooks| hooks.take_counted_posts());
  let Some((sender, count)) = taken else {
    return;
  };
  let mut ports = state.ports.borrow_mut();
  let Some(peer_id) = ports.ports.get(&sender).and_then(|port| port.peer) else {
    return;
  };
  let Some(peer) = ports.ports.get_mut(&peer_id) else {
    return;
  };
  if peer.state == PortState::Closed {
    return;
  }
  peer.queue.push_back_n(Message::Tape(None), count);
  if peer.state == PortState::Started {
    // The post before them queued a task that has not run, so the port is held already.
    peer.queued_tasks += count;
    state
      .tasks
      .borrow_mut()
      .push_back_n(Task::Message(peer_id), count);
  }
}

/// Queues `message` on the peer of `id`; false when it was dropped (closed or disentangled port,
/// or a receiver that is gone), which is final for the pair.
fn enqueue(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  id: PortId,
  message: Message,
) -> bool {
  // After serializing, which may have run getters that posted.
  queue_counted_posts(state);
  let mut ports = state.ports.borrow_mut();
  let Some(peer_id) = ports
    .ports
    .get(&id)
    .filter(|port| port.state != PortState::Closed)
    .and_then(|port| port.peer)
  else {
    return false;
  };
  let Some(peer) = ports.ports.get_mut(&peer_id) else {
    return false;
  };
  match peer.state {
    PortState::Closed => false,
    PortState::Pending => {
      peer.queue.push_back(message);
      true
    }
    PortState::Started => {
      peer.queue.push_back(message);
      let mut tasks = state.tasks.borrow_mut();
      if ports.queue_task(scope, &mut tasks, peer_id, Task::Message(peer_id)) {
        return true;
      }
      // The receiving object is gone; the message can never be seen.
      if let Some(peer) = ports.ports.get_mut(&peer_id) {
        peer.queue.pop_back();
      }
      false
    }
  }
}

/// `start()`: https://html.spec.whatwg.org/multipage/web-messaging.html#dom-messageport-start
pub(crate) fn port_start(scope: &mut v8::PinScope<'_, '_>, state: &ContextState, id: PortId) {
  queue_counted_posts(state);
  let mut ports = state.ports.borrow_mut();
  let Some(port) = ports.ports.get_mut(&id) else {
    return;
  };
  match port.state {
    PortState::Pending => {
      port.state = PortState::Started;
      let queued = port.queue.len();
      let peer = port.peer;
      let mut tasks = state.tasks.borrow_mut();
      for _ in 0..queued {
        ports.queue_task(scope, &mut tasks, id, Task::Message(id));
      }
      drop(tasks);
      if let Some(peer) = peer.and_then(|peer| ports.ports.get(&peer)) {
        set_keep_alive(scope, &peer.object, Some(&ports.ports[&id].object));
      }
    }
    // Already delivering.
    PortState::Started => {}
    // A closed port cannot start again.
    PortState::Closed => {}
  }
}

/// `close()`: https://html.spec.whatwg.org/multipage/web-messaging.html#dom-messageport-close,
/// plus the Workers behaviour of a `close` event on both ports, once each.
pub(crate) fn port_close(scope: &mut v8::PinScope<'_, '_>, state: &ContextState, id: PortId) {
  queue_counted_posts(state);
  let mut ports = state.ports.borrow_mut();
  let Some(port) = ports.ports.get_mut(&id) else {
    return;
  };
  if port.state == PortState::Closed {
    return;
  }
  port.state = PortState::Closed;
  port.queue.clear();
  let peer = port.peer.take();
  let mut to_notify = vec![id];
  if let Some(peer_id) = peer
    && let Some(peer) = ports.ports.get_mut(&peer_id)
  {
    peer.peer = None;
    to_notify.push(peer_id);
  }
  // Disentangled ports no longer keep each other alive.
  for &notify in &to_notify {
    let object = &ports.ports[&notify].object;
    set_keep_alive(scope, object, None);
  }
  let mut tasks = state.tasks.borrow_mut();
  for notify in to_notify {
    let port = ports.ports.get_mut(&notify).expect("present");
    if !port.close_event_queued {
      port.close_event_queued = true;
      ports.queue_task(scope, &mut tasks, notify, Task::Close(notify));
    }
  }
}
