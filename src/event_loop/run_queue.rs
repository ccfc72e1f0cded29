//! A FIFO queue that keeps a run of identical items as one entry with a count. A flood of
//! messages on one port is a run of identical tasks: 200k queued message tasks then cost a few
//! entries instead of 200k.

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

  /// Lets go of the memory of an empty queue that grew large in a burst.
  pub fn shrink_when_empty(&mut self) {
    if self.len == 0 && self.runs.capacity() > 4096 {
      self.runs = VecDeque::new();
    }
  }

  /// The items of the queue, a run counted once, oldest first.
  pub fn runs(&self) -> impl Iterator<Item = &T> {
    self.runs.iter().map(|(item, _)| item)
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

  /// One item off the front: a copy while its run has more, else the run's item itself.
  pub fn pop_front(&mut self) -> Option<T> {
    let (item, count) = self.runs.front_mut()?;
    if *count > 1
      && let Some(copy) = item.repeat()
    {
      *count -= 1;
      self.len -= 1;
      return Some(copy);
    }
    let (item, count) = self.runs.pop_front()?;
    self.len -= count as usize;
    Some(item)
  }
}

impl<T: Repeat> RunQueue<T> {
  /// Moves every item of `other` to the back of this queue, in order.
  pub fn append(&mut self, other: &mut RunQueue<T>) {
    let mut runs = std::mem::take(&mut other.runs);
    other.len = 0;
    if let (Some((last, count)), Some((first, first_count))) = (self.runs.back_mut(), runs.front())
      && last.same_run(first)
      && let Some(total) = count.checked_add(*first_count)
    {
      *count = total;
      self.len += *first_count as usize;
      runs.pop_front();
    }
    self.len += runs.iter().map(|(_, count)| *count as usize).sum::<usize>();
    self.runs.append(&mut runs);
  }
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
  fn append_joins_the_runs_at_the_seam() {
    let mut queue = RunQueue::default();
    queue.extend([1, 2, 2]);
    let mut other = RunQueue::default();
    other.extend([2, 2, 3]);
    queue.append(&mut other);
    assert!(other.is_empty());
    assert_eq!(queue.len(), 6);
    assert_eq!(queue.runs.len(), 3, "1, 2x4, 3");
    let mut out = Vec::new();
    while let Some(item) = queue.pop_front() {
      out.push(item);
    }
    assert_eq!(out, [1, 2, 2, 2, 2, 3]);
  }
}
