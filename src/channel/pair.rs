//! The two ends of a pair behind one lock, and [`Port`], the handle on one end.

use super::message::{Message, Payload};
use super::transit::{self, Carried};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Names a holder (see [`Holder`]): unique in the process.
pub(crate) type HolderId = u64;

static NEXT_HOLDER_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh [`HolderId`].
pub(crate) fn new_holder_id() -> HolderId {
  NEXT_HOLDER_ID.fetch_add(1, Ordering::Relaxed)
}

/// A task for a port, as its holder queues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
  /// Deliver the port's next message.
  Message,
  /// Fire the port's `close` event.
  Close,
}

/// Who holds an end: the event loop that runs the tasks of the end's JS port.
pub(crate) trait Holder: Send + Sync {
  fn id(&self) -> HolderId;
  /// Queues `count` tasks of kind `wake` for the port the holder knows as `key`. Called with
  /// the pair's lock held: it must not touch any pair.
  fn wake(&self, key: u64, wake: Wake, count: usize);
}

/// https://html.spec.whatwg.org/multipage/web-messaging.html#port-message-queue
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
  /// The queue is disabled: messages wait until `start()`.
  Pending,
  /// Every message in the queue has a task with the holder.
  Started,
  /// `close()` was called, or the port was dropped: nothing is delivered any more.
  Closed,
}

pub(super) struct End {
  pub(super) state: State,
  /// Messages posted to this end, oldest first.
  queue: VecDeque<Message>,
  /// The holder and the key it knows this end by; `None` while the end is in transit.
  pub(super) holder: Option<(Arc<dyn Holder>, u64)>,
  /// This end's `close` event was queued (or, in transit, is due when it is adopted, or, with
  /// messages waiting in a disabled queue, is due when it starts).
  close_fired: bool,
  /// The `close` event waits for `start()`: it comes after the messages posted before it.
  close_deferred: bool,
  /// While in transit: the holder whose queues hold the message carrying it, when known.
  carried_to: Option<HolderId>,
  /// While in transit: the end whose queue holds the message carrying this end (see
  /// `super::transit`); stale once that message left the queue.
  pub(super) inside: Option<(Weak<Pair>, usize)>,
}

impl End {
  fn new() -> Self {
    End {
      state: State::Pending,
      queue: VecDeque::new(),
      holder: None,
      close_fired: false,
      close_deferred: false,
      carried_to: None,
      inside: None,
    }
  }

  /// Queues this end's `close` event once (Workers fires one on each port of the pair), after
  /// the messages posted before it: an end whose disabled queue holds messages gets it when it
  /// starts ([`Port::start`]), an end in transit from the holder that adopts it
  /// ([`Port::adopt`]). Returns whether this call queued it.
  fn fire_close(&mut self) -> bool {
    if std::mem::replace(&mut self.close_fired, true) {
      return false;
    }
    if self.state == State::Pending && !self.queue.is_empty() {
      self.close_deferred = true;
      return false;
    }
    match &self.holder {
      Some((holder, key)) => {
        holder.wake(*key, Wake::Close, 1);
        true
      }
      None => false,
    }
  }
}

pub(super) struct Ends {
  pub(super) ends: [End; 2],
  /// Until either end closes. Posts are dropped once the pair is disentangled.
  entangled: bool,
}

pub(super) struct Pair {
  ends: Mutex<Ends>,
}

impl Pair {
  pub(super) fn lock(&self) -> MutexGuard<'_, Ends> {
    // Nothing panics while the lock is held; should it ever be poisoned, the data is still sound.
    self.ends.lock().unwrap_or_else(PoisonError::into_inner)
  }
}

/// One end of an entangled pair (a `MessagePort` without its JS object). It can move between
/// runtimes and threads; dropping it closes it, and the other end gets a `close` event.
///
/// Make a pair with [`entangled_pair`] and hand the ends to runtimes with
/// [`Runtime::adopt_port`](crate::Runtime::adopt_port).
pub struct Port {
  pair: Arc<Pair>,
  side: usize,
}

impl std::fmt::Debug for Port {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("Port")
      .field("pair", &Arc::as_ptr(&self.pair))
      .field("side", &self.side)
      .finish()
  }
}

/// Two entangled ports, as `new MessageChannel()` makes them: what is posted to one is
/// delivered by the other.
pub fn entangled_pair() -> (Port, Port) {
  let pair = Arc::new(Pair {
    ends: Mutex::new(Ends {
      ends: [End::new(), End::new()],
      entangled: true,
    }),
  });
  (
    Port {
      pair: pair.clone(),
      side: 0,
    },
    Port { pair, side: 1 },
  )
}

/// What became of a posted message. A message handed back is the caller's to drop, where no
/// lock is held (the ports it carries close as it goes).
pub(crate) enum Posted {
  /// It is in the peer's queue. `first_here` names the peer's key when the peer is held by
  /// the posting holder, is started, and its queue was empty: its holder must keep it alive
  /// until the queue is empty again (HTML: a port is not collected while its enabled queue
  /// holds messages).
  Queued { first_here: Option<u64> },
  /// The pair is disentangled (or this end closed): it is handed back, to be dropped.
  Dropped(Message),
  /// A [`Payload::Local`] message whose receiver is not held by the message's holder: it is
  /// handed back, to be posted in serialized form.
  NotLocal(Message),
}

/// Where the other end of a pair is, seen from one holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerPlace {
  /// Held by the asking holder, under this key.
  Here(u64),
  /// Held by another holder, or by no holder (an end the embedder has, or one inside a message
  /// that went to another holder).
  Elsewhere,
  /// Inside a message queued to a port of the asking holder.
  InTransitHere,
  /// Closed or dropped: the pair is disentangled.
  Gone,
}

impl Port {
  fn lock(&self) -> MutexGuard<'_, Ends> {
    self.pair.lock()
  }

  /// The pair and the side of this end, for `super::transit`.
  pub(super) fn place(&self) -> (&Arc<Pair>, usize) {
    (&self.pair, self.side)
  }

  fn peer_side(&self) -> usize {
    1 - self.side
  }

  /// Appends `message` to the peer's queue, and queues a task for it when the peer is started.
  /// https://html.spec.whatwg.org/multipage/web-messaging.html#message-port-post-message-steps
  /// `me` is the posting holder.
  pub(crate) fn post(&self, message: Message, me: HolderId) -> Posted {
    post_to_peer(&self.pair, self.side, message, me)
  }

  /// A handle that posts as this end, for a post whose end may move before the message is ready
  /// (HTML picks the target port before serializing, and a getter may transfer the sender).
  pub(crate) fn sender(&self) -> Sender {
    Sender {
      pair: self.pair.clone(),
      side: self.side,
    }
  }

  /// `start()`: enables the queue, with a task for each message already in it.
  /// Returns whether it queued a `close` event that waited for the queue (see `End::fire_close`).
  pub(crate) fn start(&self) -> bool {
    let mut guard = self.lock();
    let end = &mut guard.ends[self.side];
    match end.state {
      State::Pending => {
        end.state = State::Started;
        let Some((holder, key)) = &end.holder else {
          return false;
        };
        if !end.queue.is_empty() {
          holder.wake(*key, Wake::Message, end.queue.len());
        }
        if std::mem::take(&mut end.close_deferred) {
          holder.wake(*key, Wake::Close, 1);
          return true;
        }
        false
      }
      // Already delivering.
      State::Started => false,
      // A closed port cannot start again.
      State::Closed => false,
    }
  }

  /// The next message a started end delivers, and whether the queue is empty after it; `None`
  /// when there is none, or the end is not started (a task that outlived a move or a close).
  pub(crate) fn take_next(&self) -> Option<(Message, bool)> {
    let mut guard = self.lock();
    let end = &mut guard.ends[self.side];
    if end.state != State::Started {
      return None;
    }
    let message = end.queue.pop_front()?;
    let empty = end.queue.is_empty();
    drop(guard);
    if let Payload::Serialized(serialized) = &message.payload {
      transit::left_queue(&serialized.ports);
    }
    Some((message, empty))
  }

  /// `close()`: disentangles the pair and queues a `close` event on both ends, once each
  /// (Workers behaviour). Returns the messages that were waiting in this end's queue, which are
  /// never delivered, and which ends this call queued a `close` event for.
  pub(crate) fn close(&self) -> Closed {
    close_end(&self.pair, self.side)
  }

  /// Closes an end whose JS port was collected: as [`Port::close`], but the end's own `close`
  /// event is not queued (nobody is left to hear it).
  pub(crate) fn close_collected(&self) -> Closed {
    self.lock().ends[self.side].holder = None;
    self.close()
  }

  /// The first half of a transfer: the end leaves its holder, and its queue is handed out for
  /// the holder to turn its local messages into serialized ones; [`Port::restore_front`] puts
  /// them back. A transferred port arrives disabled (HTML), so the end is pending again.
  pub(crate) fn detach(&self) -> VecDeque<Message> {
    let mut guard = self.lock();
    let end = &mut guard.ends[self.side];
    end.holder = None;
    if end.state == State::Started {
      end.state = State::Pending;
    }
    std::mem::take(&mut end.queue)
  }

  /// Puts messages taken by [`Port::detach`] back at the front of the queue, before any that
  /// arrived meanwhile.
  pub(crate) fn restore_front(&self, messages: VecDeque<Message>) {
    let mut guard = self.lock();
    let queue = &mut guard.ends[self.side].queue;
    for message in messages.into_iter().rev() {
      queue.push_front(message);
    }
  }

  /// `holder` now holds this end, under `key`: its tasks go there. The end arrives pending
  /// (see [`Port::detach`]); when the pair was disentangled meanwhile, or before the end left its
  /// last holder, the new port gets a `close` event (it never heard one): now if its queue is
  /// empty, else after those messages, once it is started. Returns whether the event was queued.
  pub(crate) fn adopt(&self, holder: Arc<dyn Holder>, key: u64) -> bool {
    let mut guard = self.lock();
    let disentangled = !guard.entangled;
    let end = &mut guard.ends[self.side];
    end.carried_to = None;
    end.inside = None;
    end.holder = Some((holder, key));
    if disentangled {
      end.close_fired = false;
      return end.fire_close();
    }
    false
  }

  /// Where the other end is, seen from the holder `me`.
  pub(crate) fn peer_place(&self, me: HolderId) -> PeerPlace {
    let guard = self.lock();
    if !guard.entangled {
      return PeerPlace::Gone;
    }
    let peer = &guard.ends[self.peer_side()];
    match &peer.holder {
      Some((holder, key)) if holder.id() == me => PeerPlace::Here(*key),
      Some(_) => PeerPlace::Elsewhere,
      None if peer.carried_to == Some(me) => PeerPlace::InTransitHere,
      None => PeerPlace::Elsewhere,
    }
  }

  /// Records, for an end in transit, the holder whose queues the message carrying it goes to.
  pub(crate) fn set_carried_to(&self, holder: Option<HolderId>) {
    self.lock().ends[self.side].carried_to = holder;
  }

  /// Whether this end is closed.
  pub(crate) fn is_closed(&self) -> bool {
    self.lock().ends[self.side].state == State::Closed
  }

  /// Whether this end is started.
  pub(crate) fn is_started(&self) -> bool {
    self.lock().ends[self.side].state == State::Started
  }

  /// How many messages wait in this end's queue (diagnostics).
  pub(crate) fn queued(&self) -> usize {
    self.lock().ends[self.side].queue.len()
  }

  /// The bytes of the serialized messages in this end's queue (copies live in a JS heap).
  pub(crate) fn queued_bytes(&self) -> usize {
    self.lock().ends[self.side]
      .queue
      .iter()
      .map(|message| match &message.payload {
        Payload::Serialized(serialized) => {
          serialized.bytes.len()
            + serialized
              .array_buffers
              .iter()
              .map(|store| store.byte_length())
              .sum::<usize>()
        }
        Payload::Local { .. } => 0,
      })
      .sum()
  }
}

/// What [`Port::close`] did.
#[derive(Default)]
pub(crate) struct Closed {
  /// The messages that waited in the closed end's queue (to be dropped where no lock is held).
  pub dropped: VecDeque<Message>,
  /// A `close` event was queued for the closed end.
  pub own_event: bool,
  /// A `close` event was queued for the other end.
  pub peer_event: bool,
}

/// [`Port::close`] of the end `side` of `pair`.
pub(super) fn close_end(pair: &Pair, side: usize) -> Closed {
  let mut guard = pair.lock();
  let ends = &mut *guard;
  let end = &mut ends.ends[side];
  if end.state == State::Closed {
    return Closed::default();
  }
  end.state = State::Closed;
  let dropped = std::mem::take(&mut end.queue);
  // A close event that waited for the queue is due now: the queue is gone.
  if std::mem::take(&mut end.close_deferred) {
    end.close_fired = false;
  }
  let own_event = end.fire_close();
  let mut peer_event = false;
  if std::mem::replace(&mut ends.entangled, false) {
    // The peer keeps what was posted to it before: it is delivered before its close event.
    peer_event = ends.ends[1 - side].fire_close();
  }
  Closed {
    dropped,
    own_event,
    peer_event,
  }
}

/// Posts as the end `side` of `pair` (see [`Port::post`]).
fn post_to_peer(pair: &Arc<Pair>, side: usize, message: Message, me: HolderId) -> Posted {
  let carried = match &message.payload {
    Payload::Serialized(serialized) if !serialized.ports.is_empty() => {
      let carried = Carried::new(&serialized.ports);
      carried.link_into(pair, 1 - side);
      Some(carried)
    }
    _ => None,
  };
  let mut guard = pair.lock();
  let ends = &mut *guard;
  if !ends.entangled || ends.ends[side].state == State::Closed {
    return Posted::Dropped(message);
  }
  let peer = &mut ends.ends[1 - side];
  if let Payload::Local { holder, .. } = message.payload
    && peer.holder.as_ref().map(|(h, _)| h.id()) != Some(holder)
  {
    return Posted::NotLocal(message);
  }
  let was_empty = peer.queue.is_empty();
  peer.queue.push_back(message);
  let mut first_here = None;
  if peer.state == State::Started
    && let Some((holder, key)) = &peer.holder
  {
    holder.wake(*key, Wake::Message, 1);
    if was_empty && holder.id() == me {
      first_here = Some(*key);
    }
  }
  drop(guard);
  if let Some(carried) = carried {
    transit::close_if_ring(pair, 1 - side, &carried);
  }
  Posted::Queued { first_here }
}

/// Posts as an end without owning it (dropping it closes nothing): see [`Port::sender`].
pub(crate) struct Sender {
  pair: Arc<Pair>,
  side: usize,
}

impl Sender {
  /// [`Port::post`], as the end this was made from, wherever it is now.
  pub(crate) fn post(&self, message: Message, me: HolderId) -> Posted {
    post_to_peer(&self.pair, self.side, message, me)
  }

  /// Whether `port` is the other end of the pair.
  pub(crate) fn is_peer_of(&self, port: &Port) -> bool {
    Arc::ptr_eq(&self.pair, &port.pair) && self.side != port.side
  }

  /// The holder of the other end, if it has one.
  pub(crate) fn peer_holder(&self) -> Option<HolderId> {
    let guard = self.pair.lock();
    let peer = &guard.ends[1 - self.side];
    peer.holder.as_ref().map(|(holder, _)| holder.id())
  }
}

impl Drop for Port {
  fn drop(&mut self) {
    // The pair's lock is released before the dropped messages (which may hold ports) go.
    let closed = self.close();
    drop_messages(closed.dropped);
  }
}

std::thread_local! {
  /// Messages the outermost [`drop_messages`] on this thread has yet to drop.
  static TO_DROP: std::cell::RefCell<Option<Vec<Message>>> = const { std::cell::RefCell::new(None) };
}

/// Drops `messages` without recursing: a message carries ports, whose queues hold messages that
/// carry ports, and so on, as deep as a script makes the chain (each posted into the next's
/// queue); dropping that recursively overflows the stack. Nested calls hand their messages to
/// the outermost one, which drops them in rounds.
fn drop_messages(messages: VecDeque<Message>) {
  if messages.is_empty() {
    return;
  }
  let outermost = TO_DROP.try_with(|list| {
    let mut list = list.borrow_mut();
    match list.as_mut() {
      Some(pending) => {
        pending.extend(messages);
        None
      }
      None => {
        *list = Some(Vec::new());
        Some(messages)
      }
    }
  });
  let mut batch: Vec<Message> = match outermost {
    Ok(Some(messages)) => messages.into(),
    Ok(None) => return,
    // The thread is going and its locals with it: drop them here.
    Err(_) => return,
  };
  /// Ends the outermost call, also on unwind.
  struct Done;
  impl Drop for Done {
    fn drop(&mut self) {
      let _ = TO_DROP.try_with(|list| list.borrow_mut().take());
    }
  }
  let _done = Done;
  while !batch.is_empty() {
    // One at a time: each may add to the list.
    for message in batch.drain(..) {
      drop(message);
    }
    batch = TO_DROP
      .try_with(|list| list.borrow_mut().as_mut().map(std::mem::take))
      .ok()
      .flatten()
      .unwrap_or_default();
  }
}

#[cfg(test)]
pub(super) mod tests {
  use super::*;
  use std::sync::Mutex as StdMutex;

  /// Records the tasks it is asked to queue.
  pub(in crate::channel) struct Recorder {
    pub id: HolderId,
    tasks: StdMutex<Vec<(u64, Wake)>>,
  }

  impl Recorder {
    pub fn new() -> Arc<Self> {
      Arc::new(Recorder {
        id: new_holder_id(),
        tasks: StdMutex::new(Vec::new()),
      })
    }
    pub fn take(&self) -> Vec<(u64, Wake)> {
      std::mem::take(&mut self.tasks.lock().unwrap())
    }
  }

  impl Holder for Recorder {
    fn id(&self) -> HolderId {
      self.id
    }
    fn wake(&self, key: u64, wake: Wake, count: usize) {
      let mut tasks = self.tasks.lock().unwrap();
      tasks.extend(std::iter::repeat_n((key, wake), count));
    }
  }

  fn local(holder: &Recorder, key: u32) -> Message {
    Message::local(holder.id, key)
  }

  fn key_of(message: Message) -> u32 {
    match message.payload {
      Payload::Local { key, .. } => key,
      Payload::Serialized(_) => panic!("expected a local message"),
    }
  }

  #[test]
  fn messages_wait_until_start_then_each_gets_a_task() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(holder.clone(), 1);
    b.adopt(holder.clone(), 2);
    assert!(matches!(
      a.post(local(&holder, 10), 0),
      Posted::Queued { .. }
    ));
    assert!(matches!(
      a.post(local(&holder, 11), 0),
      Posted::Queued { .. }
    ));
    assert!(holder.take().is_empty(), "a pending port has no tasks");
    assert!(b.take_next().is_none(), "a pending port delivers nothing");
    b.start();
    assert_eq!(holder.take(), [(2, Wake::Message), (2, Wake::Message)]);
    assert!(matches!(
      a.post(local(&holder, 12), 0),
      Posted::Queued { .. }
    ));
    assert_eq!(holder.take(), [(2, Wake::Message)]);
    let keys: Vec<u32> = std::iter::from_fn(|| b.take_next())
      .map(|(m, _)| key_of(m))
      .collect();
    assert_eq!(keys, [10, 11, 12]);
  }

  #[test]
  fn the_first_message_for_a_started_end_of_the_same_holder_is_flagged() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(holder.clone(), 1);
    b.adopt(holder.clone(), 2);
    let first = |posted: Posted| match posted {
      Posted::Queued { first_here } => first_here,
      _ => panic!("not queued"),
    };
    // Not started: nothing is delivered, nothing need be kept.
    assert_eq!(first(a.post(local(&holder, 1), holder.id)), None);
    b.start();
    assert_eq!(b.take_next().map(|(_, empty)| empty), Some(true));
    assert_eq!(first(a.post(local(&holder, 2), holder.id)), Some(2));
    assert_eq!(
      first(a.post(local(&holder, 3), holder.id)),
      None,
      "not the first"
    );
    assert_eq!(b.take_next().map(|(_, empty)| empty), Some(false));
    assert_eq!(b.take_next().map(|(_, empty)| empty), Some(true));
    // Another holder posting (another thread) does not keep this holder's port.
    assert_eq!(first(a.post(local(&holder, 4), holder.id + 1000)), None);
  }

  #[test]
  fn close_disentangles_and_fires_close_on_both_ends_once() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(holder.clone(), 1);
    b.adopt(holder.clone(), 2);
    b.start();
    assert!(matches!(
      a.post(local(&holder, 1), 0),
      Posted::Queued { .. }
    ));
    assert!(matches!(
      b.post(local(&holder, 2), 0),
      Posted::Queued { .. }
    ));
    holder.take();
    let closed = a.close();
    assert_eq!(closed.dropped.len(), 1, "a's own queue is dropped");
    assert!(closed.own_event && closed.peer_event);
    assert_eq!(holder.take(), [(1, Wake::Close), (2, Wake::Close)]);
    assert!(matches!(a.post(local(&holder, 3), 0), Posted::Dropped(_)));
    assert!(matches!(b.post(local(&holder, 4), 0), Posted::Dropped(_)));
    assert_eq!(b.peer_place(holder.id), PeerPlace::Gone);
    // b still delivers what a posted before closing, and closes without a second event.
    assert_eq!(b.take_next().map(|(m, _)| key_of(m)), Some(1));
    let closed = b.close();
    assert!(closed.dropped.is_empty() && !closed.own_event && !closed.peer_event);
    assert!(holder.take().is_empty());
  }

  #[test]
  fn dropping_an_end_closes_the_pair() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    b.adopt(holder.clone(), 7);
    drop(a);
    assert_eq!(holder.take(), [(7, Wake::Close)]);
    assert_eq!(b.peer_place(holder.id), PeerPlace::Gone);
  }

  #[test]
  fn local_messages_only_reach_an_end_of_their_holder() {
    let here = Recorder::new();
    let there = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(here.clone(), 1);
    assert!(
      matches!(a.post(local(&here, 1), 0), Posted::NotLocal(_)),
      "in transit"
    );
    b.adopt(there.clone(), 1);
    assert_eq!(a.peer_place(here.id), PeerPlace::Elsewhere);
    assert!(matches!(a.post(local(&here, 1), 0), Posted::NotLocal(_)));
    assert!(matches!(a.post(local(&there, 1), 0), Posted::Queued { .. }));
  }

  #[test]
  fn a_moving_end_keeps_its_queue_in_order() {
    let first = Recorder::new();
    let second = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(first.clone(), 1);
    b.adopt(first.clone(), 2);
    b.start();
    a.post(local(&first, 1), 0);
    a.post(local(&first, 2), 0);
    first.take();
    // The holder takes the queue to make it portable; meanwhile another message arrives.
    let taken = b.detach();
    assert_eq!(taken.len(), 2);
    a.post(local(&first, 99), 0); // refused: the end is in transit
    let late = Message::local(second.id, 3);
    assert!(matches!(a.post(late, 0), Posted::NotLocal(_)));
    b.restore_front(taken);
    b.adopt(second.clone(), 5);
    assert!(second.take().is_empty(), "it arrives disabled");
    assert_eq!(a.peer_place(first.id), PeerPlace::Elsewhere);
    b.start();
    assert_eq!(second.take(), [(5, Wake::Message), (5, Wake::Message)]);
    let keys: Vec<u32> = std::iter::from_fn(|| b.take_next())
      .map(|(m, _)| key_of(m))
      .collect();
    assert_eq!(keys, [1, 2]);
  }

  #[test]
  fn an_end_in_transit_gets_its_close_event_when_adopted() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(holder.clone(), 1);
    b.adopt(holder.clone(), 2);
    b.detach();
    a.close();
    assert_eq!(holder.take(), [(1, Wake::Close)]);
    b.adopt(holder.clone(), 3);
    assert_eq!(holder.take(), [(3, Wake::Close)]);
    // Closed before it moved, with the event queued to the old holder: the new one hears it
    // too (its port never did).
    let (c, d) = entangled_pair();
    c.adopt(holder.clone(), 4);
    d.adopt(holder.clone(), 5);
    c.close();
    assert_eq!(holder.take(), [(4, Wake::Close), (5, Wake::Close)]);
    d.detach();
    d.adopt(holder.clone(), 6);
    assert_eq!(holder.take(), [(6, Wake::Close)]);
  }

  #[test]
  fn two_threads_post_a_hundred_thousand_messages_each_way_in_order() {
    const N: u32 = 100_000;
    let left = Recorder::new();
    let right = Recorder::new();
    let (a, b) = entangled_pair();
    a.adopt(left.clone(), 1);
    b.adopt(right.clone(), 2);
    a.start();
    b.start();
    let run = |port: Port, me: Arc<Recorder>, peer: Arc<Recorder>| {
      std::thread::spawn(move || {
        let mut next = 0;
        for i in 0..N {
          assert!(matches!(
            port.post(Message::local(peer.id, i), me.id),
            Posted::Queued { .. }
          ));
          while let Some((message, _)) = port.take_next() {
            assert_eq!(key_of(message), next);
            next += 1;
          }
        }
        while next < N {
          if let Some((message, _)) = port.take_next() {
            assert_eq!(key_of(message), next);
            next += 1;
          }
        }
        assert_eq!(me.take().len(), N as usize, "one task per message");
        port
      })
    };
    let a = run(a, left.clone(), right.clone());
    let b = run(b, right, left);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a.queued() + b.queued(), 0);
  }
}
