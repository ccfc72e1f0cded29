//! The copies of messages posted between ports of this isolate, until they are delivered: the
//! payloads of `Payload::Local` messages, by key. A message owns its entry; whoever takes the
//! message out of a queue (delivery, a close, a transfer) takes the entry too.

use crate::channel::LocalKey;

#[derive(Default)]
pub(crate) struct LocalStore {
  values: Vec<Option<v8::Global<v8::Value>>>,
  free: Vec<LocalKey>,
}

impl LocalStore {
  pub fn put(&mut self, value: v8::Global<v8::Value>) -> LocalKey {
    match self.free.pop() {
      Some(key) => {
        self.values[key as usize] = Some(value);
        key
      }
      None => {
        self.values.push(Some(value));
        (self.values.len() - 1) as LocalKey
      }
    }
  }

  pub fn take(&mut self, key: LocalKey) -> Option<v8::Global<v8::Value>> {
    let value = self.values.get_mut(key as usize)?.take()?;
    self.free.push(key);
    if self.free.len() == self.values.len() && self.values.len() > 4096 {
      // Every copy was taken after a burst: the store does not keep room for all of them.
      self.values = Vec::new();
      self.free = Vec::new();
    }
    Some(value)
  }
}
