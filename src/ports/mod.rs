//! The ports a context holds: each JS `MessagePort` object with the channel end it stands for
//! (`crate::channel::Port`), the key its tasks name it by, and whether it must be kept alive.
//!
//! This is the isolate's side of a channel. It posts (a same-isolate copy into the
//! [`store::LocalStore`], or a serialized message), starts, closes, hands ends over to a
//! transfer and adopts ends that arrive, and takes messages out of a queue for delivery
//! (`crate::context` runs the tasks).
//!
//! Liveness (<https://github.com/whatwg/html/pull/9933>) is `update_liveness`; the rules and
//! why are in docs/ARCHITECTURE.md ("Liveness and collection"). In short: a port that waits
//! (started with a `message` listener, or with a `close` listener) is held by its peer's object
//! when the peer is here, and is a root when the peer is elsewhere; a port is also a root while
//! messages from here wait in its queue, while it listens for `close` and its peer here does not
//! wait, and while its `close` event is due. Every other port is held weakly: when it is
//! collected its end closes and its peer gets `close`.

mod store;

use crate::channel::{LocalKey, Message, Payload, PeerPlace, Port, Posted, Sender};
use crate::event_loop::TaskQueue;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;
pub(crate) use store::LocalStore;

/// Port keys are small sequential integers: they are their own hash (SipHash showed up in
/// profiles of the message path).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
  fn finish(&self) -> u64 {
    self.0
  }
  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.0 = (self.0 << 8) | u64::from(byte);
    }
  }
  fn write_u64(&mut self, key: u64) {
    self.0 = key;
  }
}

struct Record {
  port: Port,
  object: v8::Weak<v8::Object>,
  /// Held while the port must be kept alive by its event loop (see the module doc).
  strong: Option<v8::Global<v8::Object>>,
  /// The port has at least one `message` listener.
  listening: bool,
  /// The port has at least one `close` listener.
  close_listening: bool,
  /// Its `close` event is queued and has not run.
  close_pending: bool,
  /// It is started, listening, and its queue holds messages a port here posted: it is kept
  /// until the queue is empty (its peer may be garbage by then, but the messages are not).
  queued_root: bool,
  /// It is a root because its peer lives elsewhere (counted for the loop's liveness).
  remote_root: bool,
  /// It is a root for a reason other than `queued_root` (as `update_liveness` last found).
  base_root: bool,
  /// Its object holds its peer's object (the private property is set).
  holds_peer: bool,
}

impl Record {
  /// It waits for messages its peer may post, or for its peer's end.
  fn waiting(&self) -> bool {
    (self.listening && self.port.is_started()) || self.close_listening
  }

  /// Holds the object strongly exactly while the port is a root.
  fn refresh_strong(&mut self, scope: &mut v8::PinScope<'_, '_>) {
    let root = self.base_root || self.queued_root;
    if root != self.strong.is_some() {
      self.strong = if root {
        self.object.to_global(scope)
      } else {
        None
      };
    }
  }
}

pub(crate) struct Ports {
  holder: Arc<TaskQueue>,
  records: HashMap<u64, Record, BuildHasherDefault<KeyHasher>>,
  next_key: u64,
  /// Keys whose JS objects the GC finalized; swept at the start of a turn, because finalizers
  /// must not touch the records while they may be borrowed.
  collected: Rc<RefCell<Vec<u64>>>,
  store: LocalStore,
  /// Roots kept because their peer lives elsewhere: while any is, the loop waits for messages.
  remote_roots: usize,
  /// The private property by which a port's object holds its peer's (made on first use).
  edge_key: Option<v8::Global<v8::Private>>,
}

/// What a message task finds: the port's object and its next message.
pub(crate) struct Delivery<'s> {
  pub object: v8::Local<'s, v8::Object>,
  pub message: Message,
}

impl Ports {
  pub fn new(holder: Arc<TaskQueue>) -> Self {
    Ports {
      holder,
      records: HashMap::default(),
      next_key: 0,
      collected: Rc::new(RefCell::new(Vec::new())),
      store: LocalStore::default(),
      remote_roots: 0,
      edge_key: None,
    }
  }

  pub fn holder_id(&self) -> u64 {
    use crate::channel::Holder;
    self.holder.id()
  }

  /// A key for a port about to be registered (its JS object is made with it).
  pub fn reserve_key(&mut self) -> u64 {
    self.next_key += 1;
    self.next_key - 1
  }

  /// Makes `object` the JS port of `port` here, under a key from [`Ports::reserve_key`].
  pub fn register(
    &mut self,
    scope: &mut v8::PinScope<'_, '_>,
    key: u64,
    port: Port,
    object: v8::Local<'_, v8::Object>,
  ) {
    let collected = self.collected.clone();
    let weak = v8::Weak::with_finalizer(
      scope,
      object,
      // Runs inside a GC callback, where a panic would abort: `collected` is only ever borrowed
      // for a moment by sweep_collected, which calls no V8 code meanwhile, so this borrow
      // succeeds; were it ever not to, that one record would stay until the context goes.
      Box::new(move |_| {
        if let Ok(mut collected) = collected.try_borrow_mut() {
          collected.push(key);
        }
      }),
    );
    let close_queued = port.adopt(self.holder.clone(), key);
    self.records.insert(
      key,
      Record {
        port,
        object: weak,
        strong: None,
        listening: false,
        close_listening: false,
        close_pending: false,
        queued_root: false,
        remote_root: false,
        base_root: false,
        holds_peer: false,
      },
    );
    self.update_peer_liveness(scope, key);
    if close_queued {
      self.mark_close_pending(scope, key);
    }
  }

  /// The JS object of the port `key`, while it lives.
  pub fn object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    key: u64,
  ) -> Option<v8::Local<'s, v8::Object>> {
    self.records.get(&key)?.object.to_local(scope)
  }

  /// Posts a copy made in this isolate (`js/11_message_copy.js`): kept in the store, it is
  /// delivered by the peer if the peer is held here too. Returns a `POST*` code of
  /// `crate::tables`. Runs no JS and allocates nothing on the JS heap (a fast API call).
  pub fn post_local(
    &mut self,
    scope: &mut v8::PinScope<'_, '_>,
    key: u64,
    copy: v8::Local<'_, v8::Value>,
  ) -> i32 {
    use crate::tables::{POST_DROPPED, POST_NOT_LOCAL, POSTED};
    let Some(record) = self.records.get(&key) else {
      return POST_DROPPED;
    };
    let local = self.store.put(v8::Global::new(scope, copy));
    let holder = self.holder_id();
    match record.port.post(Message::local(holder, local), holder) {
      Posted::Queued { first_here } => {
        self.keep_while_queued(scope, first_here);
        POSTED
      }
      Posted::Dropped(message) => {
        self.release([message]);
        POST_DROPPED
      }
      Posted::NotLocal(message) => {
        self.release([message]);
        POST_NOT_LOCAL
      }
    }
  }

  /// Posts a serialized message from the port `key`, through `sender` (taken from it before the
  /// message was serialized) if a getter moved the port meanwhile. Returns what the pair did
  /// with it, and whether the peer is held here (the hint for the next post, `#peerHere` in JS).
  pub fn post(
    &mut self,
    scope: &mut v8::PinScope<'_, '_>,
    key: u64,
    sender: &Sender,
    message: Message,
  ) -> (Posted, bool) {
    let holder = self.holder_id();
    let Some(record) = self.records.get(&key) else {
      return (sender.post(message, holder), false);
    };
    let posted = record.port.post(message, holder);
    let here = matches!(record.port.peer_place(holder), PeerPlace::Here(_));
    if let Posted::Queued { first_here } = posted {
      self.keep_while_queued(scope, first_here);
    }
    (posted, here)
  }

  /// A port here got the first message of its queue from a port here: if it listens, it is
  /// kept until the queue is empty again.
  fn keep_while_queued(&mut self, scope: &mut v8::PinScope<'_, '_>, key: Option<u64>) {
    let Some(key) = key else {
      return;
    };
    if let Some(record) = self.records.get_mut(&key)
      && record.listening
      && !record.queued_root
    {
      record.queued_root = true;
      record.refresh_strong(scope);
    }
  }

  /// The queue of `key` is empty: it is no longer kept for its messages.
  fn release_when_empty(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64, empty: bool) {
    if let Some(record) = self.records.get_mut(&key)
      && empty
      && record.queued_root
    {
      record.queued_root = false;
      record.refresh_strong(scope);
    }
  }

  /// `start()`.
  pub fn start(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    if let Some(record) = self.records.get(&key) {
      let close_queued = record.port.start();
      self.update_pair(scope, key);
      if close_queued {
        self.mark_close_pending(scope, key);
      }
    }
  }

  /// Whether the port `key` has `message` listeners now.
  pub fn set_listening(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64, listening: bool) {
    if let Some(record) = self.records.get_mut(&key) {
      record.listening = listening;
      self.update_pair(scope, key);
    }
  }

  /// Whether the port `key` has `close` listeners now.
  pub fn set_close_listening(
    &mut self,
    scope: &mut v8::PinScope<'_, '_>,
    key: u64,
    listening: bool,
  ) {
    if let Some(record) = self.records.get_mut(&key) {
      record.close_listening = listening;
      self.update_pair(scope, key);
    }
  }

  /// Whether a port here listens for `close` while it is still entangled: its peer may be
  /// garbage no collection has found yet.
  pub fn awaits_close(&self) -> bool {
    let holder = self.holder_id();
    self
      .records
      .values()
      .any(|record| record.close_listening && record.port.peer_place(holder) != PeerPlace::Gone)
  }

  /// `close()`: the pair is disentangled; what waited in this port's queue is dropped. Both
  /// ports (if the peer is here) are kept until their `close` events ran.
  pub fn close(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    let Some(record) = self.records.get(&key) else {
      return;
    };
    let peer = match record.port.peer_place(self.holder_id()) {
      PeerPlace::Here(peer) => Some(peer),
      _ => None,
    };
    let closed = record.port.close();
    self.release(closed.dropped);
    if closed.own_event {
      self.mark_close_pending(scope, key);
    } else {
      self.update_liveness(scope, key);
    }
    if let Some(peer) = peer {
      if closed.peer_event {
        self.mark_close_pending(scope, peer);
      } else {
        self.update_liveness(scope, peer);
      }
    }
  }

  /// A `close` event for `key` is queued: the port is kept until it ran.
  pub fn mark_close_pending(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    if let Some(record) = self.records.get_mut(&key) {
      record.close_pending = true;
      self.update_liveness(scope, key);
    }
  }

  /// The object of `key` for its `close` event, which is no longer pending.
  pub fn take_close<'s>(
    &mut self,
    scope: &mut v8::PinScope<'s, '_>,
    key: u64,
  ) -> Option<v8::Local<'s, v8::Object>> {
    let record = self.records.get_mut(&key)?;
    let object = record.object.to_local(scope);
    record.close_pending = false;
    self.update_liveness(scope, key);
    object
  }

  /// What a message task for `key` delivers: the port's object and its next message. `None`
  /// when the port is gone, moved, closed or not started, or its queue is empty.
  pub fn take_delivery<'s>(
    &mut self,
    scope: &mut v8::PinScope<'s, '_>,
    key: u64,
  ) -> Option<Delivery<'s>> {
    let record = self.records.get(&key)?;
    let object = record.object.to_local(scope)?;
    let (message, empty) = record.port.take_next()?;
    self.release_when_empty(scope, key, empty);
    Some(Delivery { object, message })
  }

  /// The next message of `key` (a run of deliveries, where JS holds the object already).
  pub fn take_next(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) -> Option<Message> {
    let (message, empty) = self.records.get(&key)?.port.take_next()?;
    self.release_when_empty(scope, key, empty);
    Some(message)
  }

  /// The copy a `Payload::Local` message holds.
  pub fn take_local<'s>(
    &mut self,
    scope: &mut v8::PinScope<'s, '_>,
    local: LocalKey,
  ) -> Option<v8::Local<'s, v8::Value>> {
    let value = self.store.take(local)?;
    Some(v8::Local::new(scope, value))
  }

  /// The first half of transferring the port `key`: its record goes and its end is handed out
  /// in transit, with the copies in its queue turned into serialized messages by `serialize`
  /// (they may be delivered in another isolate). `None` when there is no such port.
  pub fn detach<'s, 'i>(
    &mut self,
    scope: &mut v8::PinScope<'s, 'i>,
    key: u64,
    mut serialize: impl FnMut(&mut v8::PinScope<'s, 'i>, v8::Local<'s, v8::Value>) -> Option<Message>,
  ) -> Option<Port> {
    let record = self.records.remove(&key)?;
    if record.remote_root {
      self.remote_roots -= 1;
    }
    if record.holds_peer
      && let Some(object) = record.object.to_local(scope)
    {
      self.clear_edge(scope, object);
    }
    let peer = match record.port.peer_place(self.holder_id()) {
      PeerPlace::Here(peer) => Some(peer),
      _ => None,
    };
    let queue = record.port.detach();
    let mut portable = VecDeque::with_capacity(queue.len());
    for message in queue {
      match message.payload {
        Payload::Local { key: local, .. } => {
          let Some(value) = self.store.take(local) else {
            continue;
          };
          let value = v8::Local::new(scope, value);
          // A copy is plain data: serializing it runs no user code and cannot fail short of
          // memory, when the message is lost.
          if let Some(message) = serialize(scope, value) {
            portable.push_back(message);
          }
        }
        Payload::Serialized(ref serialized) => {
          // The ports it carries leave with it; where they go next is not known here.
          for port in &serialized.ports {
            self.carry(scope, port, None);
          }
          portable.push_back(message)
        }
      }
    }
    record.port.restore_front(portable);
    if let Some(peer) = peer {
      self.update_liveness(scope, peer);
    }
    Some(record.port)
  }

  /// Records that `port`, in transit, goes to the queues of `destination`: a peer here that
  /// waits for it need not be a root while it stays in this isolate.
  pub fn carry(&mut self, scope: &mut v8::PinScope<'_, '_>, port: &Port, destination: Option<u64>) {
    port.set_carried_to(destination);
    if let PeerPlace::Here(peer) = port.peer_place(self.holder_id()) {
      self.update_liveness(scope, peer);
    }
  }

  /// Whether the port `key` can be transferred: it is here and not closed.
  pub fn can_transfer(&self, key: u64) -> bool {
    self
      .records
      .get(&key)
      .is_some_and(|record| !record.port.is_closed())
  }

  /// A handle that posts as the port `key` even after it moved (see `Port::sender`).
  pub fn sender(&self, key: u64) -> Option<Sender> {
    Some(self.records.get(&key)?.port.sender())
  }

  /// Frees the records of ports whose JS objects were collected: their ends close, and their
  /// peers get `close`.
  pub fn sweep_collected(&mut self, scope: &mut v8::PinScope<'_, '_>) {
    let collected = std::mem::take(&mut *self.collected.borrow_mut());
    for key in collected {
      let Some(record) = self.records.remove(&key) else {
        continue;
      };
      if record.remote_root {
        self.remote_roots -= 1;
      }
      let peer = match record.port.peer_place(self.holder_id()) {
        PeerPlace::Here(peer) => Some(peer),
        _ => None,
      };
      let closed = record.port.close_collected();
      self.release(closed.dropped);
      if let Some(peer) = peer {
        if closed.peer_event {
          self.mark_close_pending(scope, peer);
        } else {
          self.update_liveness(scope, peer);
        }
      }
    }
    // A burst of ports is over: the table does not keep room for all of them.
    if self.records.capacity() > 4 * self.records.len() + 1024 {
      self.records.shrink_to_fit();
    }
    self.collected.borrow_mut().shrink_to(1024);
  }

  /// Whether the GC collected ports whose records wait for the next turn's sweep (their peers
  /// get `close` then).
  pub fn has_collected(&self) -> bool {
    !self.collected.borrow().is_empty()
  }

  /// Whether a port with a listener waits for a peer that lives elsewhere.
  pub fn waits_for_others(&self) -> bool {
    self.remote_roots > 0
  }

  /// How many ports have records (diagnostics).
  pub fn len(&self) -> usize {
    self.records.len()
  }

  /// The bytes of the serialized messages queued to this context's ports (diagnostics).
  pub fn queued_bytes(&self) -> usize {
    self
      .records
      .values()
      .map(|record| record.port.queued_bytes())
      .sum()
  }

  /// Messages queued to this context's ports and not delivered yet (diagnostics).
  pub fn queued_messages(&self) -> usize {
    self
      .records
      .values()
      .map(|record| record.port.queued())
      .sum()
  }

  /// Frees what messages taken out of a queue hold here; ports they carry close as they drop.
  fn release(&mut self, messages: impl IntoIterator<Item = Message>) {
    for message in messages {
      if let Payload::Local { key, .. } = message.payload {
        self.store.take(key);
      }
    }
  }

  /// Updates the liveness of `key` and of its peer, when it is here: whether one waits decides
  /// how the other is held.
  fn update_pair(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    self.update_liveness(scope, key);
    self.update_peer_liveness(scope, key);
  }

  /// Updates the liveness of the peer of `key`, when it is here.
  fn update_peer_liveness(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    let Some(record) = self.records.get(&key) else {
      return;
    };
    if let PeerPlace::Here(peer) = record.port.peer_place(self.holder_id()) {
      self.update_liveness(scope, peer);
    }
  }

  /// Makes the port `key` a root, or its peer's object hold it, or neither, as the module doc
  /// says.
  fn update_liveness(&mut self, scope: &mut v8::PinScope<'_, '_>, key: u64) {
    let holder = self.holder_id();
    let Some(record) = self.records.get_mut(&key) else {
      return;
    };
    let place = record.port.peer_place(holder);
    let listening = record.listening && record.port.is_started();
    let waiting = record.waiting();
    let remote = listening && place == PeerPlace::Elsewhere;
    if remote != record.remote_root {
      record.remote_root = remote;
      if remote {
        self.remote_roots += 1;
      } else {
        self.remote_roots -= 1;
      }
    }
    // With the peer here its object keeps this one (an unreachable pair goes together); a peer
    // elsewhere or in transit cannot, so this port is a root.
    let peer_away = matches!(place, PeerPlace::Elsewhere | PeerPlace::InTransitHere);
    // A `close` listener waits for its peer to be collected: it cannot ride on that peer's
    // object unless the peer waits too (then each holds the other, and an unreachable pair
    // goes together with nobody left to tell).
    let close_listening = record.close_listening;
    let close_root = close_listening
      && match place {
        PeerPlace::Here(peer) => !self.records.get(&peer).is_some_and(Record::waiting),
        _ => false,
      };
    let Some(record) = self.records.get_mut(&key) else {
      return;
    };
    record.base_root = record.close_pending || close_root || (waiting && peer_away);
    record.refresh_strong(scope);
    match place {
      PeerPlace::Here(peer) => {
        let Some(peer_record) = self.records.get(&peer) else {
          return;
        };
        if peer_record.holds_peer == waiting {
          return;
        }
        let (Some(object), Some(peer_object)) = (self.object(scope, key), self.object(scope, peer))
        else {
          return;
        };
        if waiting {
          let edge = self.edge_key(scope);
          peer_object.set_private(scope, edge, object.into());
        } else {
          self.clear_edge(scope, peer_object);
        }
        if let Some(peer_record) = self.records.get_mut(&peer) {
          peer_record.holds_peer = waiting;
        }
      }
      // What this port's object held for a former peer here goes.
      _ => {
        let Some(record) = self.records.get_mut(&key) else {
          return;
        };
        if !record.holds_peer {
          return;
        }
        record.holds_peer = false;
        if let Some(object) = self.object(scope, key) {
          self.clear_edge(scope, object);
        }
      }
    }
  }

  /// The private property by which a port's object holds its peer's.
  fn edge_key<'s>(&mut self, scope: &mut v8::PinScope<'s, '_>) -> v8::Local<'s, v8::Private> {
    if let Some(key) = &self.edge_key {
      return v8::Local::new(scope, key);
    }
    let name = v8::String::new(scope, "v8mc.keepsPeerAlive").expect("short string");
    let key = v8::Private::new(scope, Some(name));
    self.edge_key = Some(v8::Global::new(scope, key));
    key
  }

  /// Makes `object` stop holding its peer.
  fn clear_edge(&mut self, scope: &mut v8::PinScope<'_, '_>, object: v8::Local<'_, v8::Object>) {
    let key = self.edge_key(scope);
    object.delete_private(scope, key);
  }
}
