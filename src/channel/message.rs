//! What a queue holds: one [`Message`] per post, from `postMessage` until it is delivered.

use super::Port;
use super::pair::HolderId;

/// A posted message. Queues hold many, so the large form is boxed.
pub(crate) struct Message {
  pub payload: Payload,
}

/// The key of a same-isolate copy in its isolate's store (`crate::ports`).
pub(crate) type LocalKey = u32;

pub(crate) enum Payload {
  /// A copy made by the sending isolate for a receiver it holds itself, kept in that isolate's
  /// store under `key`. Only the holder `holder` can deliver it, so an end accepts it only while
  /// `holder` holds it; before the end leaves, the holder turns it into [`Payload::Serialized`].
  Local { holder: HolderId, key: LocalKey },
  /// V8's serializer output with what it transfers.
  Serialized(Box<Serialized>),
}

/// A value in V8's serialized form, with the memory and ports it carries.
pub(crate) struct Serialized {
  pub bytes: Vec<u8>,
  /// The contents of the ArrayBuffers in the transfer list, by transfer index.
  pub array_buffers: Vec<v8::SharedRef<v8::BackingStore>>,
  /// The memory of the SharedArrayBuffers in the value, by the serializer's id.
  pub shared: Vec<v8::SharedRef<v8::BackingStore>>,
  /// The ports in the transfer list, in its order: ends in transit.
  pub ports: Vec<Port>,
}

impl Message {
  pub fn local(holder: HolderId, key: LocalKey) -> Self {
    Message {
      payload: Payload::Local { holder, key },
    }
  }

  pub fn serialized(serialized: Serialized) -> Self {
    Message {
      payload: Payload::Serialized(Box::new(serialized)),
    }
  }
}

#[cfg(test)]
mod tests {
  /// A queue holds a Message per undelivered message (200k in the throughput benchmark).
  #[test]
  fn messages_stay_small() {
    assert!(std::mem::size_of::<super::Message>() <= 16);
  }
}
