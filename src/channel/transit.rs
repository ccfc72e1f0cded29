//! Ends in transit inside each other's queues: the one garbage the pairs make themselves.
//!
//! A port in a transfer list travels as a [`Port`] inside a message, and the message waits in
//! the queue of the end it was posted to. When that end is itself in transit, the chain goes on:
//! the message carrying it waits in a third end's queue, and so on. The chain ends at an end
//! someone holds (a runtime, or an embedder's `Port`), which can still deliver it, unless it
//! comes back to where it started: end `a` inside a message queued to `c` while `c` is inside a
//! message queued to `a`. No holder can reach such a cycle, and its `Arc`s keep each other
//! alive, so nothing would ever free it or tell the peers of its ends that they are gone.
//!
//! A cycle can only close when a message carrying ports is queued (the only moment an end goes
//! into a queue), so that is when it is looked for: each end remembers the end whose queue
//! holds it (`End::inside`), and [`queued`] walks up from the receiving end. Reaching one of
//! the ports just queued means the message closed a cycle; the receiving end is then closed as
//! if its JS port had been collected. Its queue goes, the ports in it close as they drop, and
//! so on around the cycle: every end in it closes (their peers get `close`, as for a collected
//! port) and everything is freed.
//!
//! Walks run one at a time (two posts on two threads could otherwise each close half of a
//! cycle and neither see it). A link is only followed from an end with no holder that is not
//! closed, so a link left behind by a message that was since delivered (cleared right after,
//! by [`left_queue`]) leads nowhere: the end that delivered it has a holder.

use super::Port;
use super::pair::{Pair, State, close_end};
use std::sync::{Arc, Mutex, PoisonError};

/// One walk at a time.
static WALKS: Mutex<()> = Mutex::new(());

/// The ends a queued message carries, taken before it goes into the queue (the queue owns it
/// after that).
pub(super) struct Carried(Vec<(Arc<Pair>, usize)>);

impl Carried {
  pub(super) fn new(ports: &[Port]) -> Self {
    Carried(
      ports
        .iter()
        .map(|port| {
          let (pair, side) = port.place();
          (pair.clone(), side)
        })
        .collect(),
    )
  }

  fn contains(&self, pair: &Arc<Pair>, side: usize) -> bool {
    self
      .0
      .iter()
      .any(|(carried, carried_side)| Arc::ptr_eq(carried, pair) && *carried_side == side)
  }
}

/// A message carrying `carried` went into the queue of the end `side` of `pair`: records where
/// those ends are, and closes `pair`'s end when that made a cycle no holder can reach.
pub(super) fn queued(pair: &Arc<Pair>, side: usize, carried: Carried) {
  let walk = WALKS.lock().unwrap_or_else(PoisonError::into_inner);
  for (end, end_side) in &carried.0 {
    end.lock().ends[*end_side].inside = Some((Arc::downgrade(pair), side));
  }
  let mut at = (pair.clone(), side);
  // Each end is in one queue at most, so the walk is a path; the bound only guards against a
  // loop of stale links.
  for _ in 0..1_000_000 {
    if carried.contains(&at.0, at.1) {
      drop(walk);
      // Dropped here, with no lock held: the ports in the queue close in turn.
      drop(close_end(pair, side));
      return;
    }
    let next = {
      let guard = at.0.lock();
      let end = &guard.ends[at.1];
      if end.holder.is_some() || end.state == State::Closed {
        return;
      }
      end
        .inside
        .as_ref()
        .and_then(|(pair, side)| Some((pair.upgrade()?, *side)))
    };
    match next {
      Some(next) => at = next,
      None => return,
    }
  }
}

/// A message carrying `ports` left its queue (to be delivered): they are no longer inside it.
pub(super) fn left_queue(ports: &[Port]) {
  for port in ports {
    let (pair, side) = port.place();
    pair.lock().ends[side].inside = None;
  }
}

#[cfg(test)]
mod tests {
  use super::super::pair::Wake;
  use super::super::pair::tests::Recorder;
  use super::super::{Message, Payload, PeerPlace, Posted, Serialized, entangled_pair};
  use super::*;
  use std::sync::Weak;

  fn carrying(port: Port) -> Message {
    Message::serialized(Serialized {
      bytes: Vec::new(),
      array_buffers: Vec::new(),
      shared: Vec::new(),
      ports: vec![port],
    })
  }

  fn weak(port: &Port) -> Weak<Pair> {
    Arc::downgrade(port.place().0)
  }

  fn queued(posted: Posted) {
    assert!(matches!(posted, Posted::Queued { .. }));
  }

  #[test]
  fn ends_queued_inside_each_other_close_and_are_freed() {
    let holder = Recorder::new();
    // a and c go into each other's queues; b and d stay with the holder.
    let (a, b) = entangled_pair();
    let (c, d) = entangled_pair();
    b.adopt(holder.clone(), 2);
    d.adopt(holder.clone(), 4);
    let (first, second) = (weak(&a), weak(&c));
    queued(d.post(carrying(a), holder.id));
    assert_eq!(
      first.strong_count(),
      2,
      "a waits in c's queue: no cycle yet"
    );
    queued(b.post(carrying(c), holder.id));
    assert_eq!(b.peer_place(holder.id), PeerPlace::Gone);
    assert_eq!(d.peer_place(holder.id), PeerPlace::Gone);
    // b and d hold their own pairs; the messages and the ends in transit are gone.
    assert_eq!((first.strong_count(), second.strong_count()), (1, 1));
    let mut tasks = holder.take();
    tasks.sort_by_key(|(key, _)| *key);
    assert_eq!(tasks, [(2, Wake::Close), (4, Wake::Close)]);
  }

  #[test]
  fn an_end_queued_to_itself_closes() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    b.adopt(holder.clone(), 2);
    let pair = weak(&a);
    // `a` posted to itself through its peer: HTML's "doomed" message.
    queued(b.post(carrying(a), holder.id));
    assert_eq!(pair.strong_count(), 1);
    assert_eq!(holder.take(), [(2, Wake::Close)]);
  }

  #[test]
  fn a_chain_that_ends_at_a_holder_stays() {
    let holder = Recorder::new();
    let (a, b) = entangled_pair();
    let (c, d) = entangled_pair();
    let (e, f) = entangled_pair();
    b.adopt(holder.clone(), 2);
    d.adopt(holder.clone(), 4);
    f.adopt(holder.clone(), 6);
    e.adopt(holder.clone(), 5);
    // a inside c's queue, c inside e's queue: e is held, so both can still be delivered.
    queued(d.post(carrying(a), holder.id));
    queued(f.post(carrying(c), holder.id));
    assert!(holder.take().is_empty());
    e.start();
    let (message, _) = e.take_next().expect("the message carrying c");
    let Payload::Serialized(serialized) = message.payload else {
      panic!("a serialized message");
    };
    let c = serialized.ports.into_iter().next().unwrap();
    // c is out of e's queue; queued to a again (its own content), it closes a cycle now.
    let pair = weak(&c);
    queued(b.post(carrying(c), holder.id));
    assert_eq!(pair.strong_count(), 1, "only d holds c's pair");
  }
}
