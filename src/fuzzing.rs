//! Entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature). Not a stable API.

use crate::channel::{Message, Port, Posted, Serialized, new_holder_id};

impl Port {
  /// Posts `bytes` to this end's peer as if another isolate's serializer had written them, with
  /// no buffers, shared memory or ports: the receiving runtime deserializes them at delivery
  /// and fires `messageerror` when they are not a valid message. Returns whether the message
  /// was queued (the pair is still entangled).
  pub fn post_serialized_bytes(&self, bytes: Vec<u8>) -> bool {
    let message = Message::serialized(Serialized {
      bytes,
      array_buffers: Vec::new(),
      shared: Vec::new(),
      ports: Vec::new(),
    });
    matches!(self.post(message, new_holder_id()), Posted::Queued { .. })
  }
}
