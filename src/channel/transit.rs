//! Ends in transit inside each other's queues: the one garbage the pairs make themselves.
//!
//! A port in a transfer list travels as a [`Port`] inside a message, and the message waits in
//! the queue of the end it was posted to. When that end is itself in transit, the chain goes on:
//! the message carrying it waits in a third end's queue, and so on. The chain ends at an end
//! someone holds (a runtime, or an embedder's `Port`), which can still deliver it, unless it
//! comes back to where it started: end `a` inside a message queued to `c` while `c` is inside a
//! message queued to `a`. No holder can reach such a ring, and its `Arc`s keep each other
//! alive, so nothing would ever free it or tell the peers of its ends that they are gone.
//!
//! A ring can only close when a message carrying ports is queued (the only moment an end goes
//! into a queue), so that is when it is looked for. Each end remembers the end whose queue holds
//! it (`End::inside`), set before the message goes into the queue (so a receiver that takes it at
//! once always finds the link there to clear, in [`left_queue`]); [`close_if_ring`] then walks
//! up from the receiving end. Reaching one of the ports just queued, still linked to that end,
//! means the message closed a ring; the receiving end is then closed as if its JS port had been
//! collected. Its queue goes, the ports in it close as they drop, and so on around the ring:
//! every end in it closes (their peers get `close`, as for a collected port) and everything is
//! freed.
//!
//! A walk stops at an end with a holder or a closed one, so a link that is early (its message
//! not queued yet, or about to be dropped, which closes everything under it anyway) or late (its
//! message just taken for delivery) cannot make it close an end someone can still reach. Two
//! posts on two threads that each close half of a ring both set their links before walking, so
//! at least one sees the whole ring. Walks are bounded by [`MAX_RING`]: a script can grow a chain
//! of ports in transit as deep as it likes, and every post at its bottom would otherwise climb
//! all of it.

use super::Port;
use super::pair::{Pair, State, close_end};
use std::sync::Arc;

/// The longest ring looked for: a longer one is not freed (README, "Known gaps").
pub(super) const MAX_RING: usize = 1024;

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

  /// Records that these ends are inside the queue of the end `side` of `pair` (before the
  /// message goes there; each end's own lock, never nested).
  pub(super) fn link_into(&self, pair: &Arc<Pair>, side: usize) {
    for (end, end_side) in &self.0 {
      end.lock().ends[*end_side].inside = Some((Arc::downgrade(pair), side));
    }
  }
}

/// A message carrying `carried` went into the queue of the end `side` of `pair`: closes that
/// end when the message closed a ring no holder can reach.
pub(super) fn close_if_ring(pair: &Arc<Pair>, side: usize, carried: &Carried) {
  let mut at = (pair.clone(), side);
  for _ in 0..MAX_RING {
    let (ring, next) = {
      let guard = at.0.lock();
      let end = &guard.ends[at.1];
      if end.holder.is_some() || end.state == State::Closed {
        return;
      }
      let inside = end.inside.as_ref();
      let ring = carried.contains(&at.0, at.1)
        && inside.is_some_and(|(into, into_side)| {
          std::ptr::eq(into.as_ptr(), Arc::as_ptr(pair)) && *into_side == side
        });
      let next = inside.and_then(|(pair, side)| Some((pair.upgrade()?, *side)));
      (ring, next)
    };
    if ring {
      // Dropped here, with no lock held: the ports in the queue close in turn.
      drop(close_end(pair, side));
      return;
    }
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
  use super::super::pair::State;
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

  /// Found in review: a walk that runs late, after the receiver took the message, moved on and
  /// posted the receiving end into the port it got, must not close that end (its new place is
  /// held). Here the late walk of the first post is run by hand, after all that happened.
  #[test]
  fn a_late_walk_does_not_close_an_end_a_holder_can_still_reach() {
    let holder = Recorder::new();
    let (r, r_peer) = entangled_pair();
    let (c, c_peer) = entangled_pair();
    r.adopt(holder.clone(), 1);
    r_peer.adopt(holder.clone(), 2);
    c_peer.adopt(holder.clone(), 4);
    r.start();
    let late = Carried::new(std::slice::from_ref(&c));
    queued(r_peer.post(carrying(c), holder.id));
    // The receiver delivers it and adopts c, then sends r away into c's queue.
    let (message, _) = r.take_next().expect("the message carrying c");
    let Payload::Serialized(serialized) = message.payload else {
      panic!("a serialized message");
    };
    let c = serialized.ports.into_iter().next().unwrap();
    c.adopt(holder.clone(), 3);
    r.detach();
    let (r_pair, r_side) = {
      let (pair, side) = r.place();
      (pair.clone(), side)
    };
    queued(c_peer.post(carrying(r), holder.id));
    holder.take();
    close_if_ring(&r_pair, r_side, &late);
    assert_eq!(
      r_pair.lock().ends[r_side].state,
      State::Pending,
      "r waits in c's queue"
    );
    assert_eq!(r_peer.peer_place(holder.id), PeerPlace::Elsewhere);
    assert!(holder.take().is_empty(), "nobody hears a close");
  }

  #[test]
  fn a_ring_longer_than_the_bound_is_left_alone() {
    let holder = Recorder::new();
    // Ends e[0..n], each inside the queue of the next: posted through the next one's peer.
    let pairs: Vec<(Port, Port)> = (0..=MAX_RING).map(|_| entangled_pair()).collect();
    let mut peers = Vec::new();
    let mut ends = Vec::new();
    for (index, (end, peer)) in pairs.into_iter().enumerate() {
      peer.adopt(holder.clone(), index as u64);
      ends.push(end);
      peers.push(peer);
    }
    let first = weak(&ends[0]);
    // e[i] goes into e[i + 1]'s queue, top down, so that each walk is short.
    for (index, end) in ends.into_iter().enumerate() {
      let into = (index + 1) % peers.len();
      queued(peers[into].post(carrying(end), holder.id));
    }
    // The last post closed a ring of MAX_RING + 1 ends: too long to be seen (it stays, as the
    // README's known gaps say), and nothing closed.
    assert_eq!(first.strong_count(), 2);
    assert!(holder.take().is_empty());
  }
}
