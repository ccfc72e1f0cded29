//! Finding an object in a list by identity without comparing it with every entry: transfer
//! lists are as long as a script makes them, and a linear search per entry made a list of
//! 100,000 buffers take minutes.

use std::collections::HashMap;

/// The positions of objects in a list, by V8's identity hash (not unique: the candidates it
/// gives are compared by identity).
#[derive(Default)]
pub(crate) struct IdentityIndex {
  by_hash: HashMap<i32, Vec<u32>>,
}

impl IdentityIndex {
  /// Records that `object` is at `position`.
  pub fn insert(&mut self, object: &v8::Object, position: u32) {
    self
      .by_hash
      .entry(object.get_identity_hash().get())
      .or_default()
      .push(position);
  }

  /// The positions that may hold `object`, in the order they were recorded.
  pub fn candidates(&self, object: &v8::Object) -> &[u32] {
    self
      .by_hash
      .get(&object.get_identity_hash().get())
      .map_or(&[], Vec::as_slice)
  }
}
