//! Structured clone on V8's `ValueSerializer` / `ValueDeserializer`, the reference for every
//! copy of a message: the delegates, the `DataCloneError`s they throw, MessagePorts as
//! transferred host objects and SharedArrayBuffers shared by memory. [`kind`] answers the one
//! question the same-isolate copy (`js/11_message_copy.js`) asks before it copies an object.
//!
//! Platform objects (events, event targets, ports, the global object) are refused: every
//! object whose prototype chain reaches one of the realm's platform prototypes is a host
//! object, and only a MessagePort in the transfer list is written (as its index in the list).

mod identity;
pub(crate) mod kind;
#[cfg(feature = "fast-paths")]
pub(crate) mod layout;

pub(crate) use identity::IdentityIndex;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use v8::{ValueDeserializerHelper, ValueSerializerHelper};

/// What structured clone needs to know of a context's realm, from the bootstrap module: which
/// objects are platform objects, how to make a DataCloneError, and what the copy may copy.
pub(crate) struct CloneRealm {
  new_data_clone_error: v8::Global<v8::Function>,
  /// Prototypes whose instances are platform objects that structured clone must refuse.
  platform_prototypes: Vec<v8::Global<v8::Object>>,
  message_port_prototype: v8::Global<v8::Object>,
  /// Whether SharedArrayBuffers are shared between isolates (a compatibility flag); when not,
  /// cloning one is a DataCloneError.
  share_memory: Cell<bool>,
  pub kinds: kind::Kinds,
}

impl CloneRealm {
  pub fn new(
    new_data_clone_error: v8::Global<v8::Function>,
    platform_prototypes: Vec<v8::Global<v8::Object>>,
    message_port_prototype: v8::Global<v8::Object>,
    kinds: kind::Kinds,
  ) -> Self {
    CloneRealm {
      new_data_clone_error,
      platform_prototypes,
      message_port_prototype,
      share_memory: Cell::new(false),
      kinds,
    }
  }

  pub fn set_share_memory(&self, share: bool) {
    self.share_memory.set(share);
  }

  /// Whether `value` is a MessagePort of this realm.
  pub fn is_message_port(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    value: v8::Local<'_, v8::Value>,
  ) -> bool {
    v8::Local::<v8::Object>::try_from(value).is_ok_and(|object| {
      inherits_from(
        scope,
        object,
        std::slice::from_ref(&self.message_port_prototype),
      )
    })
  }

  /// Whether `object` is a platform object (an instance of a platform prototype).
  pub fn is_platform_object(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    object: v8::Local<'_, v8::Object>,
  ) -> bool {
    inherits_from(scope, object, &self.platform_prototypes)
  }

  /// Throws `new DOMException(message, "DataCloneError")` in the scope.
  pub fn throw_data_clone_error(&self, scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(message) = v8::String::new(scope, message) {
      self.throw_data_clone_error_value(scope, message);
    }
  }

  fn throw_data_clone_error_value<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    message: v8::Local<'s, v8::String>,
  ) {
    let constructor = v8::Local::new(scope, &self.new_data_clone_error);
    let undefined = v8::undefined(scope).into();
    // If building the DOMException itself throws (out of memory), that exception stands.
    if let Some(error) = constructor.call(scope, undefined, &[message.into()]) {
      scope.throw_exception(error);
    }
  }
}

/// Whether `object`'s prototype chain reaches one of `prototypes`. A proxy in the chain ends
/// the walk (its `getPrototypeOf` trap is user code).
fn inherits_from(
  scope: &mut v8::PinScope<'_, '_>,
  object: v8::Local<'_, v8::Object>,
  prototypes: &[v8::Global<v8::Object>],
) -> bool {
  let mut current = if object.is_proxy() {
    None
  } else {
    object.get_prototype(scope)
  };
  while let Some(value) = current {
    let Ok(proto) = v8::Local::<v8::Object>::try_from(value) else {
      return false;
    };
    if prototypes.iter().any(|p| *p == proto) {
      return true;
    }
    if proto.is_proxy() {
      return false;
    }
    current = proto.get_prototype(scope);
  }
  false
}

/// A value in serialized form, before its transfers are carried out.
pub(crate) struct SerializedValue {
  pub bytes: Vec<u8>,
  /// The memory of the SharedArrayBuffers it holds, by the serializer's id.
  pub shared: Vec<v8::SharedRef<v8::BackingStore>>,
}

struct SerializerDelegate {
  realm: Rc<CloneRealm>,
  /// The MessagePorts of the transfer list: a port is written as its index here.
  ports: Vec<v8::Global<v8::Object>>,
  port_index: IdentityIndex,
  /// The memory of the SharedArrayBuffers met so far (the caller keeps the other handle).
  shared: Rc<RefCell<Vec<v8::SharedRef<v8::BackingStore>>>>,
  /// Errors are plain `Error`s made without calling into JS (see [`serialize_plain`]).
  quiet: bool,
}

impl SerializerDelegate {
  fn throw<'s>(&self, scope: &mut v8::PinScope<'s, '_>, message: v8::Local<'s, v8::String>) {
    if self.quiet {
      let error = v8::Exception::error(scope, message);
      scope.throw_exception(error);
    } else {
      self.realm.throw_data_clone_error_value(scope, message);
    }
  }

  fn throw_str(&self, scope: &mut v8::PinScope<'_, '_>, message: &str) {
    if let Some(message) = v8::String::new(scope, message) {
      self.throw(scope, message);
    }
  }
}

impl v8::ValueSerializerImpl for SerializerDelegate {
  fn throw_data_clone_error<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    message: v8::Local<'s, v8::String>,
  ) {
    self.throw(scope, message);
  }

  fn has_custom_host_object(&self, _isolate: &v8::Isolate) -> bool {
    true
  }

  fn is_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
  ) -> Option<bool> {
    Some(self.realm.is_platform_object(scope, object))
  }

  fn write_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    object: v8::Local<'s, v8::Object>,
    serializer: &dyn v8::ValueSerializerHelper,
  ) -> Option<bool> {
    let found = self
      .port_index
      .candidates(&object)
      .iter()
      .find(|&&index| self.ports[index as usize] == object);
    if let Some(&index) = found {
      serializer.write_uint32(index);
      return Some(true);
    }
    let message = if self.realm.is_message_port(scope, object.into()) {
      "A MessagePort could not be cloned because it was not transferred.".to_string()
    } else {
      let name = object.get_constructor_name().to_rust_string_lossy(scope);
      format!("{name} object could not be cloned.")
    };
    self.throw_str(scope, &message);
    None
  }

  fn get_shared_array_buffer_id<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    buffer: v8::Local<'s, v8::SharedArrayBuffer>,
  ) -> Option<u32> {
    if !self.realm.share_memory.get() {
      self.throw_str(
        scope,
        "SharedArrayBuffer cannot be cloned: this compatibility date does not share memory \
         between isolates.",
      );
      return None;
    }
    let mut shared = self.shared.borrow_mut();
    shared.push(buffer.get_backing_store());
    Some(shared.len() as u32 - 1)
  }

  fn get_wasm_module_transfer_id(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    _module: v8::Local<v8::WasmModuleObject>,
  ) -> Option<u32> {
    self.throw_str(scope, "WebAssembly.Module objects cannot be cloned.");
    None
  }
}

/// Serializes `value`. `array_buffers` and `ports` are the transfer list's (already checked by
/// the caller): buffers are written by reference, by their index here, and so are ports, which
/// the serializer meets as host objects. On failure a JS exception (a DataCloneError, or what a
/// getter threw) is pending in `scope` and nothing has been detached.
pub(crate) fn serialize<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  realm: &Rc<CloneRealm>,
  value: v8::Local<'s, v8::Value>,
  array_buffers: &[v8::Local<'s, v8::ArrayBuffer>],
  ports: &[v8::Local<'s, v8::Object>],
) -> Option<SerializedValue> {
  serialize_with(scope, realm, value, array_buffers, ports, false)
}

/// Serializes a same-isolate copy (`js/11_message_copy.js`), which holds only what the
/// serializer copies by itself: it calls no JS, not even to make an error (it fails only when
/// V8 runs out of stack or memory), so it may run while the ports are borrowed.
pub(crate) fn serialize_plain<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  realm: &Rc<CloneRealm>,
  value: v8::Local<'s, v8::Value>,
) -> Option<SerializedValue> {
  serialize_with(scope, realm, value, &[], &[], true)
}

fn serialize_with<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  realm: &Rc<CloneRealm>,
  value: v8::Local<'s, v8::Value>,
  array_buffers: &[v8::Local<'s, v8::ArrayBuffer>],
  ports: &[v8::Local<'s, v8::Object>],
  quiet: bool,
) -> Option<SerializedValue> {
  let shared = Rc::new(RefCell::new(Vec::new()));
  let mut port_index = IdentityIndex::default();
  for (index, port) in ports.iter().enumerate() {
    port_index.insert(port, index as u32);
  }
  let delegate = SerializerDelegate {
    realm: realm.clone(),
    ports: ports
      .iter()
      .map(|port| v8::Global::new(scope, *port))
      .collect(),
    port_index,
    shared: shared.clone(),
    quiet,
  };
  let serializer = v8::ValueSerializer::new(scope, Box::new(delegate));
  for (index, buffer) in array_buffers.iter().enumerate() {
    serializer.transfer_array_buffer(index as u32, *buffer);
  }
  serializer.write_header();
  let context = scope.get_current_context();
  serializer.write_value(context, value)?;
  let bytes = serializer.release();
  let shared = shared.take();
  Some(SerializedValue { bytes, shared })
}

/// Detaches the transferred ArrayBuffers and returns their memory. The caller checked, after
/// serialization, that each is still attached and detachable (its detach key is never set).
pub(crate) fn detach_buffers(
  buffers: &[v8::Local<'_, v8::ArrayBuffer>],
) -> Vec<v8::SharedRef<v8::BackingStore>> {
  buffers
    .iter()
    .map(|buffer| {
      let store = buffer.get_backing_store();
      buffer.detach(None);
      store
    })
    .collect()
}

struct DeserializerDelegate<'a> {
  ports: Vec<v8::Global<v8::Object>>,
  shared: &'a [v8::SharedRef<v8::BackingStore>],
}

impl v8::ValueDeserializerImpl for DeserializerDelegate<'_> {
  fn read_host_object<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    deserializer: &dyn v8::ValueDeserializerHelper,
  ) -> Option<v8::Local<'s, v8::Object>> {
    let mut index = 0;
    if deserializer.read_uint32(&mut index)
      && let Some(port) = self.ports.get(index as usize)
    {
      return Some(v8::Local::new(scope, port));
    }
    let message = v8::String::new(scope, "a message names a port it does not carry")?;
    let error = v8::Exception::error(scope, message);
    scope.throw_exception(error);
    None
  }

  fn get_shared_array_buffer_from_id<'s>(
    &self,
    scope: &mut v8::PinScope<'s, '_>,
    id: u32,
  ) -> Option<v8::Local<'s, v8::SharedArrayBuffer>> {
    if let Some(store) = self.shared.get(id as usize) {
      return Some(v8::SharedArrayBuffer::with_backing_store(scope, store));
    }
    let message = v8::String::new(scope, "a message names memory it does not carry")?;
    let error = v8::Exception::error(scope, message);
    scope.throw_exception(error);
    None
  }
}

/// Rebuilds a value from its serialized form, with the transferred buffers' memory and the
/// ports (already adopted) it carries. On failure an exception is pending.
pub(crate) fn deserialize<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  bytes: &[u8],
  array_buffers: &[v8::SharedRef<v8::BackingStore>],
  shared: &[v8::SharedRef<v8::BackingStore>],
  ports: &[v8::Local<'s, v8::Object>],
) -> Option<v8::Local<'s, v8::Value>> {
  let delegate = DeserializerDelegate {
    ports: ports
      .iter()
      .map(|port| v8::Global::new(scope, *port))
      .collect(),
    shared,
  };
  let deserializer = v8::ValueDeserializer::new(scope, Box::new(delegate), bytes);
  let context = scope.get_current_context();
  if deserializer.read_header(context) != Some(true) {
    return None;
  }
  for (index, store) in array_buffers.iter().enumerate() {
    let buffer = v8::ArrayBuffer::with_backing_store(scope, store);
    deserializer.transfer_array_buffer(index as u32, buffer);
  }
  deserializer.read_value(context)
}
