//! A FIFO queue that keeps a run of identical items as one entry with a count. A flood of
//! messages on one port is a run of identical tasks and, for tape messages, of identical queue
//! entries: 200k queued messages then cost a few entries instead of 200k of each.

use std::collections::VecDeque;

/// Items that may be stored as runs.
pub(crate) trait Repeat: Sized {
  /// Whether `next` may join a run of `self` (both are the same repeatable item).
  fn same_run(&self, next: &Self) -> bool;
  /// Another item equal to `self`, for items that `same_run` lets form runs.
  fn repeat(&self) -> Option<Self>;
}

pub(crate) struct RunQueue<T> {
  runs: VecDeque<(T, u32)>,
  len: usize,
}

impl<T> Default for RunQueue<T> {
  fn default() -> Self {
    Self {
      runs: VecDeque::new(),
      len: 0,
    }
  }
}

impl<T: Repeat> RunQueue<T> {
  /// The number of items (not of runs).
  pub fn len(&self) -> usize {
    self.len
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  pub fn front(&self) -> Option<&T> {
    self.runs.front().map(|(item, _)| item)
  }

  pub fn clear(&mut self) {
    self.runs.clear();
    self.len = 0;
  }

  pub fn push_back(&mut self, item: T) {
    self.len += 1;
    if let Some((last, count)) = self.runs.back_mut()
      && *count < u32::MAX
      && last.same_run(&item)
    {
      *count += 1;
      return;
    }
    self.runs.push_back((item, 1));
  }

  /// Appends `n` items equal to `item` (which must be repeatable), in O(1) runs.
  pub fn push_back_n(&mut self, item: T, n: usize) {
    if n == 0 {
      return;
    }
    self.push_back(item);
    let mut left = n - 1;
    while left > 0 {
      let Some((last, count)) = self.runs.back_mut() else {
        return;
      };
      let added = left.min((u32::MAX - *count) as usize);
      *count += added as u32;
      self.len += added;
      left -= added;
      if left > 0 {
        // The run is full: a new one starts with the rest.
        let Some(copy) = last.repeat() else {
          return;
        };
        self.runs.push_back((copy, 0));
      }
    }
  }

  pub fn pop_front(&mut self) -> Option<T> {
    self.pop(End::Front)
  }

  pub fn pop_back(&mut self) -> Option<T> {
    self.pop(End::Back)
  }

  /// One item off `end`: a copy while its run has more, else the run's item itself.
  fn pop(&mut self, end: End) -> Option<T> {
    let (item, count) = match end {
      End::Front => self.runs.front_mut()?,
      End::Back => self.runs.back_mut()?,
    };
    if *count > 1
      && let Some(copy) = item.repeat()
    {
      *count -= 1;
      self.len -= 1;
      return Some(copy);
    }
    let (item, count) = match end {
      End::Front => self.runs.pop_front()?,
      End::Back => self.runs.pop_back()?,
    };
    self.len -= count as usize;
    Some(item)
  }
}

#[derive(Clone, Copy)]
enum End {
  Front,
  Back,
}

impl<T: Repeat> Extend<T> for RunQueue<T> {
  fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
    for item in items {
      self.push_back(item);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Even numbers repeat, odd ones stay single.
  impl Repeat for u32 {
    fn same_run(&self, next: &Self) -> bool {
      self % 2 == 0 && self == next
    }
    fn repeat(&self) -> Option<Self> {
      (self % 2 == 0).then_some(*self)
    }
  }

  #[test]
  fn keeps_order_and_count_across_runs() {
    let mut queue = RunQueue::default();
    let items = [2, 2, 2, 3, 3, 4, 2, 2, 5];
    queue.extend(items);
    assert_eq!(queue.len(), items.len());
    assert_eq!(queue.runs.len(), 6, "2x3, 3, 3, 4, 2x2, 5");
    let mut out = Vec::new();
    while let Some(item) = queue.pop_front() {
      out.push(item);
    }
    assert_eq!(out, items);
    assert!(queue.is_empty());
  }

  #[test]
  fn push_back_n_extends_the_last_run() {
    let mut queue = RunQueue::default();
    queue.extend([3, 2]);
    queue.push_back_n(2, 4);
    queue.push_back_n(4, 0);
    queue.push_back_n(4, 2);
    assert_eq!(queue.len(), 8);
    assert_eq!(queue.runs.len(), 3, "3, 2x5, 4x2");
    let mut out = Vec::new();
    while let Some(item) = queue.pop_front() {
      out.push(item);
    }
    assert_eq!(out, [3, 2, 2, 2, 2, 2, 4, 4]);
  }

  #[test]
  fn pop_back_takes_one_of_a_run() {
    let mut queue = RunQueue::default();
    queue.extend([1, 2, 2, 2]);
    assert_eq!(queue.pop_back(), Some(2));
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.pop_front(), Some(1));
    assert_eq!(queue.pop_front(), Some(2));
    assert_eq!(queue.pop_front(), Some(2));
    assert_eq!(queue.pop_front(), None);
    assert_eq!(queue.len(), 0);
  }
}
