// The constants Rust and JS share, defined once: build.rs includes this file to write them into
// the internal module `v8mc:00_tables.js` (`export const NAME = value;`), and the library
// includes it for the same names in Rust. Each list is one `shared_constants!` block.

shared_constants! {
  // What the same-isolate copy may do with an object (src/clone/kind.rs answers,
  // js/11_message_copy.js acts).
  /// Not copied here: the serializer takes the whole message.
  CLONE_GIVE_UP = 0,
  /// An ordinary object whose own enumerable properties are all data properties.
  CLONE_PLAIN = 1,
  /// An array of a packed fast elements kind without named properties.
  CLONE_PACKED_ARRAY = 2,
  /// An array of a holey fast elements kind without named properties.
  CLONE_HOLEY_ARRAY = 3,
  CLONE_DATE = 4,
  CLONE_REGEXP = 5,
  CLONE_MAP = 6,
  CLONE_SET = 7,
  CLONE_NUMBER_OBJECT = 8,
  CLONE_STRING_OBJECT = 9,
  CLONE_BOOLEAN_OBJECT = 10,
  CLONE_BIGINT_OBJECT = 11,
  /// An ArrayBuffer that is neither shared, resizable nor detached.
  CLONE_ARRAY_BUFFER = 12,
  /// A typed array on such a buffer.
  CLONE_TYPED_ARRAY = 13,
  /// A DataView on such a buffer.
  CLONE_DATA_VIEW = 14,
  /// An ordinary object whose hidden class is not known yet: `cloneKindOf` finds out.
  CLONE_UNKNOWN = 15,

  // What `portPostLocal` did with a copy (src/ports).
  /// It is in the peer's queue.
  POSTED = 0,
  /// The pair is disentangled: nothing was sent.
  POST_DROPPED = 1,
  /// The peer is not in this isolate: post the copy through the serializer.
  POST_NOT_LOCAL = 2,

  // The listeners `portListening` reports on (src/ports).
  /// `message` listeners: a started port with one is kept alive while its peer can post.
  LISTEN_MESSAGE = 0,
  /// `close` listeners: before the loop ends, garbage is collected once so that an unreachable
  /// peer closes and the listener hears it.
  LISTEN_CLOSE = 1,

  // What `valueKind` says of a value (js/08_console.js formats by it): V8's own type checks,
  // which no script can redefine, unlike `instanceof` or `Symbol.toStringTag`.
  VALUE_OTHER = 0,
  VALUE_ERROR = 1,
  VALUE_DATE = 2,
  VALUE_REGEXP = 3,
  VALUE_MAP = 4,
  VALUE_SET = 5,
  VALUE_WEAK_MAP = 6,
  VALUE_WEAK_SET = 7,
  VALUE_PROMISE = 8,
  VALUE_ARRAY_BUFFER = 9,
  VALUE_TYPED_ARRAY = 10,
  VALUE_DATA_VIEW = 11,
  VALUE_ARRAY = 12,
  VALUE_PROXY = 13,
  VALUE_SHARED_ARRAY_BUFFER = 14,

  /// The size limit of a message in serialized bytes, unless the embedder sets another
  /// (`RuntimeOptions::max_message_size`, `set_max_message_size`): 256 MiB.
  DEFAULT_MAX_MESSAGE_SIZE = 256 << 20,

  // Keys JS gives a transfer list's entries (src/ports): a MessagePort's key is >= 0.
  /// A MessagePort that was transferred or closed.
  TRANSFER_DETACHED_PORT = -1,
  /// Not a MessagePort.
  TRANSFER_NOT_A_PORT = -2,
}
