//! Structured clone on V8's `ValueSerializer` / `ValueDeserializer`: the serialized form of a
//! message, the delegates, and the `DataCloneError`s they throw.
//!
//! Platform objects (events, event targets, ports, the global object) are refused: the
//! serializer delegate treats every object whose prototype chain reaches one of the
//! registered platform prototypes as a host object and throws instead of copying its fields.

use crate::state::{ContextState, Hooks};
use std::rc::Rc;
use v8::{ValueDeserializerHelper, ValueSerializerHelper};

/// A posted message: a primitive kept as it is, or a value in serialized form. Queues hold many
/// of these, so the large forms are boxed and a message is at most 24 bytes (a test checks it).
pub(crate) enum Message {
  /// Structured clone leaves primitives as they are, so they skip V8's serializer (no
  /// ValueSerializer/Deserializer is built for `postMessage(null)` or a number).
  Primitive(Primitive),
  /// A large ArrayBuffer or typed array: its buffer copied once, handed over without a second
  /// copy (V8's serializer copies into its own buffer and again out of it).
  Bytes(Box<Bytes>),
  Serialized(Box<Serialized>),
  /// Copied by JS onto the receiving port's tape (`js/11_message_tape.js`), with the values the
  /// tape leaves to the serializer (dates, buffers, ...), if any. The tape holds the rest.
  Tape(Option<Box<Message>>),
}

impl crate::run_queue::Repeat for Message {
  /// Tape messages without side values are all alike: a port queue keeps a run of them as one.
  fn same_run(&self, next: &Self) -> bool {
    matches!((self, next), (Message::Tape(None), Message::Tape(None)))
  }
  fn repeat(&self) -> Option<Self> {
    matches!(self, Message::Tape(None)).then_some(Message::Tape(None))
  }
}

/// The primitives that travel without the serializer. Strings are copied in V8's own encoding.
pub(crate) enum Primitive {
  Undefined,
  Null,
  Boolean(bool),
  Number(f64),
  Latin1(Box<[u8]>),
  Utf16(Box<[u16]>),
}

/// Longer strings go through the serializer, which copies them as well, in one allocation.
const FAST_STRING_MAX: usize = 1024;

fn primitive_of(
  scope: &mut v8::PinScope<'_, '_>,
  value: v8::Local<'_, v8::Value>,
) -> Option<Primitive> {
  if value.is_undefined() {
    Some(Primitive::Undefined)
  } else if value.is_null() {
    Some(Primitive::Null)
  } else if value.is_boolean() {
    Some(Primitive::Boolean(value.is_true()))
  } else if let Ok(number) = v8::Local::<v8::Number>::try_from(value) {
    Some(Primitive::Number(number.value()))
  } else if let Ok(string) = v8::Local::<v8::String>::try_from(value) {
    let length = string.length();
    if length > FAST_STRING_MAX {
      return None;
    }
    if string.is_onebyte() {
      let mut bytes = vec![0u8; length];
      string.write_one_byte_v2(scope, 0, &mut bytes, v8::WriteFlags::empty());
      Some(Primitive::Latin1(bytes.into_boxed_slice()))
    } else {
      let mut units = vec![0u16; length];
      string.write_v2(scope, 0, &mut units, v8::WriteFlags::empty());
      Some(Primitive::Utf16(units.into_boxed_slice()))
    }
  } else {
    None
  }
}

fn primitive_value<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  primitive: &Primitive,
) -> Option<v8::Local<'s, v8::Value>> {
  Some(match primitive {
    Primitive::Undefined => v8::undefined(scope).into(),
    Primitive::Null => v8::null(scope).into(),
    Primitive::Boolean(b) => v8::Boolean::new(scope, *b).into(),
    Primitive::Number(n) => v8::Number::new(scope, *n).into(),
    Primitive::Latin1(bytes) => {
      v8::String::new_from_one_byte(scope, bytes, v8::NewStringType::Normal)?.into()
    }
    Primitive::Utf16(units) => {
      v8::String::new_from_two_byte(scope, units, v8::NewStringType::Normal)?.into()
    }
  })
}

/// Buffers from this size up take the one-copy path; smaller typed arrays may live inside V8's
/// heap, and reaching their buffer would move them out of it.
const FAST_BYTES_MIN: usize = 4096;

/// The typed array kinds the one-copy path rebuilds (DataView and Float16Array, which rusty_v8
/// cannot hand out as a Value, use the serializer).
#[derive(Clone, Copy)]
enum ViewKind {
  Uint8,
  Uint8Clamped,
  Int8,
  Uint16,
  Int16,
  Uint32,
  Int32,
  Float32,
  Float64,
  BigInt64,
  BigUint64,
}

impl ViewKind {
  fn of(view: v8::Local<'_, v8::ArrayBufferView>) -> Option<ViewKind> {
    Some(if view.is_uint8_array() {
      ViewKind::Uint8
    } else if view.is_uint8_clamped_array() {
      ViewKind::Uint8Clamped
    } else if view.is_int8_array() {
      ViewKind::Int8
    } else if view.is_uint16_array() {
      ViewKind::Uint16
    } else if view.is_int16_array() {
      ViewKind::Int16
    } else if view.is_uint32_array() {
      ViewKind::Uint32
    } else if view.is_int32_array() {
      ViewKind::Int32
    } else if view.is_float32_array() {
      ViewKind::Float32
    } else if view.is_float64_array() {
      ViewKind::Float64
    } else if view.is_big_int64_array() {
      ViewKind::BigInt64
    } else if view.is_big_uint64_array() {
      ViewKind::BigUint64
    } else {
      return None;
    })
  }

  fn make<'s>(
    self,
    scope: &mut v8::PinScope<'s, '_>,
    buffer: v8::Local<'s, v8::ArrayBuffer>,
    byte_offset: usize,
    length: usize,
  ) -> Option<v8::Local<'s, v8::Value>> {
    Some(match self {
      ViewKind::Uint8 => v8::Uint8Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Uint8Clamped => {
        v8::Uint8ClampedArray::new(scope, buffer, byte_offset, length)?.into()
      }
      ViewKind::Int8 => v8::Int8Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Uint16 => v8::Uint16Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Int16 => v8::Int16Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Uint32 => v8::Uint32Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Int32 => v8::Int32Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Float32 => v8::Float32Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::Float64 => v8::Float64Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::BigInt64 => v8::BigInt64Array::new(scope, buffer, byte_offset, length)?.into(),
      ViewKind::BigUint64 => v8::BigUint64Array::new(scope, buffer, byte_offset, length)?.into(),
    })
  }
}

/// A copied ArrayBuffer and, when a typed array was posted, the view to rebuild on it.
pub(crate) struct Bytes {
  store: v8::SharedRef<v8::BackingStore>,
  view: Option<(ViewKind, usize, usize)>,
}

/// The one-copy clone of a plain ArrayBuffer or a typed array on one, or `None` for anything
/// the serializer should handle: other values, small or detached buffers, shared or resizable
/// ones, DataViews. Like structured clone, a view's whole buffer is copied.
fn bytes_of(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> Option<Bytes> {
  let (buffer, view) = if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(value) {
    (buffer, None)
  } else if let Ok(typed) = v8::Local::<v8::TypedArray>::try_from(value) {
    let kind = ViewKind::of(typed.into())?;
    if typed.byte_length() < FAST_BYTES_MIN {
      return None;
    }
    let buffer = typed.buffer(scope)?;
    (buffer, Some((kind, typed.byte_offset(), typed.length())))
  } else {
    return None;
  };
  let length = buffer.byte_length();
  if length < FAST_BYTES_MIN || buffer.was_detached() {
    return None;
  }
  let source = buffer.get_backing_store();
  if source.is_shared() || source.is_resizable_by_user_javascript() {
    return None;
  }
  let data = source.data()?.as_ptr().cast::<u8>().cast_const();
  let store = crate::array_buffers::filled_store(scope, length, |destination| {
    // SAFETY: `data` points at the buffer's `length` bytes, kept alive by `source` during this
    // call (no JS runs meanwhile, so nothing can detach or resize it); `destination` is a fresh
    // allocation of `length` bytes, so the ranges do not overlap.
    unsafe { crate::array_buffers::copy_bytes(data, destination.as_ptr(), length) }
  })?;
  Some(Bytes { store, view })
}

fn bytes_value<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  bytes: Bytes,
) -> Option<v8::Local<'s, v8::Value>> {
  let buffer = v8::ArrayBuffer::with_backing_store(scope, &bytes.store);
  match bytes.view {
    None => Some(buffer.into()),
    Some((kind, byte_offset, length)) => kind.make(scope, buffer, byte_offset, length),
  }
}

/// Clones `value` for posting: primitives as they are, large byte buffers with one copy,
/// anything else (or anything with a transfer list) through [`serialize`]. `None` with an
/// exception pending on failure.
pub(crate) fn message_of<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  hooks: &Rc<Hooks>,
  value: v8::Local<'s, v8::Value>,
  transfer: &[v8::Local<'s, v8::Value>],
) -> Option<Message> {
  if transfer.is_empty()
    && let Some(primitive) = primitive_of(scope, value)
  {
    return Some(Message::Primitive(primitive));
  }
  if transfer.is_empty()
    && let Some(bytes) = bytes_of(scope, value)
  {
    return Some(Message::Bytes(Box::new(bytes)));
  }
  serialize(scope, hooks, value, transfer)
    .map(|serialized| Message::Serialized(Box::new(serialized)))
}

/// Rebuilds a posted message in the receiving context. On failure an exception is pending.
pub(crate) fn value_of<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  message: Message,
) -> Option<v8::Local<'s, v8::Value>> {
  match message {
    Message::Primitive(primitive) => primitive_value(scope, &primitive),
    Message::Bytes(bytes) => bytes_value(scope, *bytes),
    Message::Serialized(serialized) => deserialize(scope, *serialized),
    // Tape messages are rebuilt by JS; only their side values come through here.
    Message::Tape(_) => None,
  }
}

/// A value in serialized form, with the contents of the ArrayBuffers it transfers.
pub(crate) struct Serialized {
  bytes: Vec<u8>,
  transferred: Vec<v8::SharedRef<v8::BackingStore>>,
}

/// Throws `new DOMException(message, "DataCloneError")` in the scope.
pub(crate) fn throw_data_clone_error(
  scope: &mut v8::PinScope<'_, '_>,
  hooks: &Hooks,
  message: &str,
) {
  let Some(message) = v8::String::new(scope, message) else {
    return;
  };
  throw_data_clone_error_value(scope, hooks, message);
}

fn throw_data_clone_error_value<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  hooks: &Hooks,
  message: v8::Local<'s, v8::String>,
) {
  let constructor = v8::Local::new(scope, &hooks.new_data_clone_error);
  let undefined = v8::undefined(scope).into();
  // If building the DOMException itself throws (out of memory), that exception stands.
  if let Some(error) = constructor.call(scope, undefined, &[message.into()]) {
    scope.throw_exception(error);
  }
}

/// Whether `object`'s prototype chain reaches one of `prototypes`.
fn inherits_from(
  scope: &mut v8::PinScope<'_, '_>,
  object: v8::Local<'_, v8::Object>,
  prototypes: &[v8::Global<v8::Object>],
) -> bool {
  let mut current = object.get_prototype(scope);
  while let Some(value) = current {
    let Ok(proto) = v8::Local::<v8::Object>::try_from(value) else {
      return false;
    };
    if prototypes.iter().any(|p| *p == proto) {
      return true;
    }
    current = proto.get_prototype(scope);
  }
  false
}

pub(crate) fn is_message_port(
  scope: &mut v8::PinScope<'_, '_>,
  hooks: &Hooks,
  value: v8::Local<'_, v8::Value>,
) -> bool {
  v8::Local::<v8::Object>::try_from(value).is_ok_and(|object| {
    inherits_from(
      scope,
      object,
      std::slice::from_ref(&hooks.message_port_prototype),
    )
  })
}

struct SerializerDelegate {
  hooks: Rc<Hooks>,
}

impl v8::ValueSerializerImpl for SerializerDelegate {
  fn throw_data_clone_error<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    message: v8::Local<'s, v8::String>,
  ) {
    throw_data_clone_error_value(scope, &self.hooks, message);
  }

  fn has_custom_host_object(&self, _isolate: &v8::Isolate) -> bool {
    true
  }

  fn is_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
  ) -> Option<bool> {
    Some(inherits_from(
      scope,
      object,
      &self.hooks.platform_prototypes,
    ))
  }

  fn write_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
    _serializer: &dyn v8::ValueSerializerHelper,
  ) -> Option<bool> {
    let name = object.get_constructor_name().to_rust_string_lossy(scope);
    let message = if is_message_port(scope, &self.hooks, object.into()) {
      "A MessagePort could not be cloned because it was not transferred.".to_string()
    } else {
      format!("{name} object could not be cloned.")
    };
    throw_data_clone_error(scope, &self.hooks, &message);
    None
  }

  fn get_shared_array_buffer_id<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    _shared_array_buffer: v8::Local<'s, v8::SharedArrayBuffer>,
  ) -> Option<u32> {
    throw_data_clone_error(
      scope,
      &self.hooks,
      "SharedArrayBuffer cannot be cloned: the runtime is not cross-origin isolated.",
    );
    None
  }

  fn get_wasm_module_transfer_id(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    _module: v8::Local<v8::WasmModuleObject>,
  ) -> Option<u32> {
    throw_data_clone_error(
      scope,
      &self.hooks,
      "WebAssembly.Module objects cannot be cloned.",
    );
    None
  }
}

struct DeserializerDelegate;

impl v8::ValueDeserializerImpl for DeserializerDelegate {}

/// Serializes `value`, transferring the ArrayBuffers in `transfer`. On failure a JS exception
/// (a DataCloneError, or whatever a getter threw) is pending in `scope` and `None` is returned;
/// nothing has been detached then.
pub(crate) fn serialize<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  hooks: &Rc<Hooks>,
  value: v8::Local<'s, v8::Value>,
  transfer: &[v8::Local<'s, v8::Value>],
) -> Option<Serialized> {
  let serializer = v8::ValueSerializer::new(
    scope,
    Box::new(SerializerDelegate {
      hooks: hooks.clone(),
    }),
  );
  let mut buffers: Vec<v8::Local<v8::ArrayBuffer>> = Vec::with_capacity(transfer.len());
  for (index, item) in transfer.iter().enumerate() {
    if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(*item) {
      let problem = if buffers.contains(&buffer) {
        Some(format!(
          "ArrayBuffer at index {index} is already in the transfer list."
        ))
      } else if buffer.was_detached() {
        Some(format!(
          "ArrayBuffer at index {index} is detached and cannot be transferred."
        ))
      } else if !buffer.is_detachable() {
        Some(format!(
          "ArrayBuffer at index {index} is not detachable and cannot be transferred."
        ))
      } else {
        None
      };
      if let Some(message) = problem {
        throw_data_clone_error(scope, hooks, &message);
        return None;
      }
      serializer.transfer_array_buffer(index as u32, buffer);
      buffers.push(buffer);
    } else if is_message_port(scope, hooks, *item) {
      throw_data_clone_error(
        scope,
        hooks,
        "Transferring a MessagePort is not supported yet; post the port's messages instead.",
      );
      return None;
    } else {
      throw_data_clone_error(
        scope,
        hooks,
        &format!("Value at index {index} of the transfer list is not transferable."),
      );
      return None;
    }
  }
  serializer.write_header();
  let context = scope.get_current_context();
  serializer.write_value(context, value)?;
  let bytes = serializer.release();
  // Detach only once serialization has succeeded, so a failed postMessage changes nothing.
  let transferred = buffers
    .iter()
    .map(|buffer| {
      let store = buffer.get_backing_store();
      buffer.detach(None);
      store
    })
    .collect();
  Some(Serialized { bytes, transferred })
}

/// Rebuilds a value from its serialized form. On failure an exception is pending.
pub(crate) fn deserialize<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  message: Serialized,
) -> Option<v8::Local<'s, v8::Value>> {
  let deserializer =
    v8::ValueDeserializer::new(scope, Box::new(DeserializerDelegate), &message.bytes);
  let context = scope.get_current_context();
  if deserializer.read_header(context) != Some(true) {
    return None;
  }
  for (index, store) in message.transferred.iter().enumerate() {
    let buffer = v8::ArrayBuffer::with_backing_store(scope, store);
    deserializer.transfer_array_buffer(index as u32, buffer);
  }
  deserializer.read_value(context)
}

/// `structuredClone(value, { transfer })` in one step.
pub(crate) fn structured_clone<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  value: v8::Local<'s, v8::Value>,
  transfer: &[v8::Local<'s, v8::Value>],
) -> Option<v8::Local<'s, v8::Value>> {
  // Primitives are immutable: their clone is the value itself.
  if transfer.is_empty()
    && (value.is_null_or_undefined()
      || value.is_boolean()
      || value.is_number()
      || value.is_string()
      || value.is_big_int())
  {
    return Some(value);
  }
  let hooks = state.hooks()?;
  let message = message_of(scope, &hooks, value, transfer)?;
  value_of(scope, message)
}

#[cfg(test)]
mod tests {
  /// Port queues hold a `Message` per undelivered message (200k in the throughput benchmark).
  #[test]
  fn messages_stay_small() {
    assert!(std::mem::size_of::<super::Message>() <= 24);
  }
}
