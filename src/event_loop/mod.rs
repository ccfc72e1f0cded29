//! The parts of the event loop below a context: the task queue that holders wake and each turn
//! drains, the timers, and the run-length queue both keep tasks in. The turn itself (what a
//! task does) is `crate::context::turn`.

mod run_queue;
mod tasks;
mod timers;

pub(crate) use run_queue::RunQueue;
pub(crate) use tasks::{Task, TaskQueue};
pub(crate) use timers::Timers;

use std::time::Instant;

/// What the event loop should do after a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
  /// Tasks are queued: run another turn soon (after letting other futures run, if you like).
  Ready,
  /// Only timers are left, perhaps with ports whose peers live on other threads: run another
  /// turn at this instant, or earlier if such a peer posts.
  WaitUntil(Instant),
  /// Nothing is queued and no timer is pending, but a port with a listener has its peer in
  /// another runtime: a message may still arrive from another thread.
  Waiting,
  /// Nothing is left to do.
  Done,
}
