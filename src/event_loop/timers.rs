//! Pending timers by deadline (ties broken by scheduling order). JS keeps the callbacks
//! (`js/09_timers.js`); a due timer becomes a task of the turn.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct Timers {
  by_deadline: BTreeMap<(Instant, u64), u32>,
  by_id: HashMap<u32, (Instant, u64)>,
  sequence: u64,
}

impl Timers {
  pub fn schedule(&mut self, id: u32, delay: Duration) {
    self.cancel(id);
    self.sequence += 1;
    let key = (Instant::now() + delay, self.sequence);
    self.by_deadline.insert(key, id);
    self.by_id.insert(id, key);
  }

  pub fn cancel(&mut self, id: u32) {
    if let Some(key) = self.by_id.remove(&id) {
      self.by_deadline.remove(&key);
    }
  }

  /// The timers due at `now`, earliest first, taken out.
  pub fn take_due(&mut self, now: Instant) -> Vec<u32> {
    let mut due = Vec::new();
    while let Some(entry) = self.by_deadline.first_entry() {
      if entry.key().0 > now {
        break;
      }
      let id = entry.remove();
      self.by_id.remove(&id);
      due.push(id);
    }
    due
  }

  pub fn next_deadline(&self) -> Option<Instant> {
    self
      .by_deadline
      .keys()
      .next()
      .map(|(deadline, _)| *deadline)
  }

  pub fn is_empty(&self) -> bool {
    self.by_deadline.is_empty()
  }
}
