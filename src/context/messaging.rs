//! The message operations that span ports, clone and the loop: a post through the serializer
//! with its transfer list, `structuredClone` with one, the JS value of a delivered message, and
//! the adoption of ends that arrive.
//!
//! A transfer follows HTML's StructuredSerializeWithTransfer: the list is checked, the value is
//! serialized (getters run then), the list is checked again (a getter may have moved or closed a
//! port, or detached a buffer), and only then is anything detached; when an error is thrown
//! nothing was sent or detached.

use super::{ContextState, Hooks};
use crate::channel::{Message, Payload, Port, Serialized};
use crate::clone::{self, CloneRealm, IdentityIndex};
use crate::tables::{TRANSFER_DETACHED_PORT, TRANSFER_NOT_A_PORT};
use std::collections::HashSet;
use std::rc::Rc;

/// The entries of a transfer list, checked: its ArrayBuffers, and its MessagePorts with keys.
struct TransferList<'s> {
  buffers: Vec<v8::Local<'s, v8::ArrayBuffer>>,
  port_objects: Vec<v8::Local<'s, v8::Object>>,
  port_keys: Vec<u64>,
}

/// Checks a transfer list (https://html.spec.whatwg.org/multipage/structured-data.html#structuredserializewithtransfer):
/// `items` are its entries, `keys` what JS knows of each (a MessagePort's key, or one of the
/// `TRANSFER_*` codes), `source` the posting port, which may not be in it. Throws a
/// DataCloneError and returns `None` for a bad list.
fn check_transfer_list<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  realm: &CloneRealm,
  source: Option<u64>,
  items: &[v8::Local<'s, v8::Value>],
  keys: &[i64],
) -> Option<TransferList<'s>> {
  let mut list = TransferList {
    buffers: Vec::new(),
    port_objects: Vec::new(),
    port_keys: Vec::new(),
  };
  // Duplicates are found by hash: lists are as long as a script makes them.
  let mut buffer_index = IdentityIndex::default();
  let mut port_keys = HashSet::new();
  for (index, item) in items.iter().enumerate() {
    let key = keys
      .get(index)
      .copied()
      .unwrap_or(TRANSFER_NOT_A_PORT.into());
    let problem = if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(*item) {
      let seen = buffer_index
        .candidates(&buffer)
        .iter()
        .any(|&at| list.buffers[at as usize] == buffer);
      if seen {
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
        buffer_index.insert(&buffer, list.buffers.len() as u32);
        list.buffers.push(buffer);
        None
      }
    } else if key >= 0 {
      let key = key as u64;
      if !state.transfer_ports() {
        Some("MessagePort objects cannot be transferred under this compatibility date.".into())
      } else if Some(key) == source {
        Some(format!(
          "MessagePort at index {index} is the port posting the message: it cannot transfer itself."
        ))
      } else if port_keys.contains(&key) {
        Some(format!(
          "MessagePort at index {index} is already in the transfer list."
        ))
      } else if !state.ports().can_transfer(key) {
        Some(format!(
          "MessagePort at index {index} is closed and cannot be transferred."
        ))
      } else {
        match v8::Local::<v8::Object>::try_from(*item) {
          Ok(object) => {
            port_keys.insert(key);
            list.port_keys.push(key);
            list.port_objects.push(object);
            None
          }
          Err(_) => Some(format!(
            "Value at index {index} of the transfer list is not transferable."
          )),
        }
      }
    } else if key == i64::from(TRANSFER_DETACHED_PORT) {
      Some(format!(
        "MessagePort at index {index} was transferred or closed already and cannot be transferred."
      ))
    } else if item.is_shared_array_buffer() {
      Some(format!(
        "SharedArrayBuffer at index {index} cannot be transferred (it is shared, not moved)."
      ))
    } else {
      Some(format!(
        "Value at index {index} of the transfer list is not transferable."
      ))
    };
    if let Some(message) = problem {
      realm.throw_data_clone_error(scope, &message);
      return None;
    }
  }
  Some(list)
}

/// Serializes `value` with the transfer list and carries the transfers out. `None` with an
/// exception pending on failure, when nothing was detached. `limit` is the size limit of a
/// posted message (structuredClone has none).
fn serialize_with_transfer<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  realm: &Rc<CloneRealm>,
  value: v8::Local<'s, v8::Value>,
  list: &TransferList<'s>,
  limit: Option<usize>,
) -> Option<Serialized> {
  let serialized = clone::serialize(scope, realm, value, &list.buffers, &list.port_objects)?;
  if let Some(limit) = limit
    && serialized.bytes.len() > limit
  {
    realm.throw_data_clone_error(
      scope,
      &format!(
        "The message is {} bytes when serialized, over this runtime's limit of {limit} bytes.",
        serialized.bytes.len()
      ),
    );
    return None;
  }
  // Getters ran: check the list again before anything is detached.
  let stale = list
    .port_keys
    .iter()
    .position(|key| !state.ports().can_transfer(*key));
  if let Some(index) = stale {
    realm.throw_data_clone_error(
      scope,
      &format!("MessagePort {index} of the transfer list was closed or transferred while the message was serialized."),
    );
    return None;
  }
  if let Some(index) = list.buffers.iter().position(|buffer| buffer.was_detached()) {
    realm.throw_data_clone_error(
      scope,
      &format!(
        "ArrayBuffer {index} of the transfer list was detached while the message was serialized."
      ),
    );
    return None;
  }
  let array_buffers = clone::detach_buffers(&list.buffers);
  let mut ports = Vec::with_capacity(list.port_keys.len());
  for key in &list.port_keys {
    let detached = state.ports().detach(scope, *key, |scope, copy| {
      serialize_copy(scope, realm, copy)
    });
    ports.extend(detached);
  }
  Some(Serialized {
    bytes: serialized.bytes,
    array_buffers,
    shared: serialized.shared,
    ports,
  })
}

/// A same-isolate copy in serialized form, for an end that leaves the isolate. A copy is plain
/// data: its serialization runs no user code.
fn serialize_copy<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  realm: &Rc<CloneRealm>,
  copy: v8::Local<'s, v8::Value>,
) -> Option<Message> {
  v8::tc_scope!(let scope, scope);
  let serialized = clone::serialize_plain(scope, realm, copy);
  if serialized.is_none() {
    scope.reset();
  }
  let serialized = serialized?;
  Some(Message::serialized(Serialized {
    bytes: serialized.bytes,
    array_buffers: Vec::new(),
    shared: serialized.shared,
    ports: Vec::new(),
  }))
}

/// `postMessage` through the serializer, from the port `key` (`None`: a port that was
/// transferred or closed, which serializes and drops): https://html.spec.whatwg.org/multipage/web-messaging.html#message-port-post-message-steps
/// Returns whether the peer is held here (the hint for the next post). `None` with an
/// exception pending when serialization or the transfer list failed.
pub(crate) fn post<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  key: Option<u64>,
  message: v8::Local<'s, v8::Value>,
  items: &[v8::Local<'s, v8::Value>],
  keys: &[i64],
) -> Option<bool> {
  let realm = state.hooks()?.realm.clone();
  let list = check_transfer_list(scope, state, &realm, key, items, keys)?;
  // HTML takes the target before serializing: a getter that transfers this port does not
  // stop the message (one that closes it does, as every post after a close is dropped).
  let sender = key.and_then(|key| state.ports().sender(key));
  let limit = Some(state.max_message_size());
  let serialized = serialize_with_transfer(scope, state, &realm, message, &list, limit)?;
  let (Some(key), Some(sender)) = (key, sender) else {
    return Some(false);
  };
  // A port posted to itself through its own channel: HTML's "doomed" message, dropped with the
  // channel (the transferred peer closes as the message goes).
  let doomed = serialized.ports.iter().any(|port| sender.is_peer_of(port));
  if doomed {
    drop(serialized);
    return Some(false);
  }
  // The ports the message carries are in transit towards the peer's holder.
  let destination = sender.peer_holder();
  for port in &serialized.ports {
    state.ports().carry(scope, port, destination);
  }
  let (posted, here) = state
    .ports()
    .post(scope, key, &sender, Message::serialized(serialized));
  // Dropped outside the borrow: the ports a message carries close as it goes.
  drop(posted);
  Some(here)
}

/// `structuredClone(value, { transfer })`: serialized and rebuilt here, transferred ports
/// arriving as new ports entangled with their old peers. `None` with an exception pending.
pub(crate) fn structured_clone<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  value: v8::Local<'s, v8::Value>,
  items: &[v8::Local<'s, v8::Value>],
  keys: &[i64],
) -> Option<v8::Local<'s, v8::Value>> {
  let realm = state.hooks()?.realm.clone();
  let list = check_transfer_list(scope, state, &realm, None, items, keys)?;
  let Serialized {
    bytes,
    array_buffers,
    shared,
    ports,
  } = serialize_with_transfer(scope, state, &realm, value, &list, None)?;
  let mut objects = Vec::with_capacity(ports.len());
  for port in ports {
    let Some(object) = adopt_port(scope, state, port) else {
      // The context is going, or making the object ran out of memory: the ports close.
      let message = v8::String::new(scope, "A transferred MessagePort could not be rebuilt.")?;
      let error = v8::Exception::error(scope, message);
      scope.throw_exception(error);
      return None;
    };
    objects.push(object);
  }
  clone::deserialize(scope, &bytes, &array_buffers, &shared, &objects)
}

/// The JS value a delivered message carries: the copy, or the deserialized value (wrapped with
/// the ports it carries, `withPorts` in JS), or the `lost` sentinel when it cannot be rebuilt
/// (a `messageerror`). Leaves no exception pending.
pub(crate) fn message_value<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  hooks: &Hooks,
  message: Message,
) -> v8::Local<'s, v8::Value> {
  let lost = |scope: &mut v8::PinScope<'s, '_>| v8::Local::new(scope, &hooks.delivery.lost);
  let serialized = match message.payload {
    Payload::Local { key, .. } => {
      let copy = state.ports().take_local(scope, key);
      return copy.unwrap_or_else(|| lost(scope));
    }
    Payload::Serialized(serialized) => serialized,
  };
  let Serialized {
    bytes,
    array_buffers,
    shared,
    ports,
  } = *serialized;
  let mut objects = Vec::with_capacity(ports.len());
  for port in ports {
    match adopt_port(scope, state, port) {
      Some(object) => objects.push(object),
      None => return lost(scope),
    }
  }
  let value = {
    v8::tc_scope!(let tc, scope);
    let value = clone::deserialize(tc, &bytes, &array_buffers, &shared, &objects)
      .map(|value| v8::Global::new(tc, value));
    if value.is_none() {
      tc.reset();
    }
    value
  };
  let Some(value) = value else {
    return lost(scope);
  };
  let value = v8::Local::new(scope, value);
  if objects.is_empty() {
    return value;
  }
  let ports: Vec<v8::Local<v8::Value>> = objects.iter().map(|o| (*o).into()).collect();
  let ports = v8::Array::new_with_elements(scope, &ports);
  let with_ports = v8::Local::new(scope, &hooks.delivery.with_ports);
  let undefined = v8::undefined(scope).into();
  v8::tc_scope!(let tc, scope);
  match with_ports.call(tc, undefined, &[value, ports.into()]) {
    Some(wrapped) => v8::Local::new(tc, v8::Global::new(tc, wrapped)),
    None => {
      tc.reset();
      v8::Local::new(tc, &hooks.delivery.lost)
    }
  }
}

/// Makes a JS `MessagePort` of `port` in the scope's context (one the extension was
/// [`install`](crate::install)ed into): messages posted to the other end are delivered here,
/// from whatever thread they come ([`crate::Runtime::adopt_port`] does this for a runtime).
/// `None` where the extension is not installed or the object could not be made (the end is
/// closed then, and its peer gets `close`).
pub fn adopt_port_into<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  port: Port,
) -> Option<v8::Local<'s, v8::Object>> {
  let state = ContextState::get(scope)?;
  adopt_port(scope, &state, port)
}

/// Makes a JS `MessagePort` for an end that arrived here (from a transfer, or from the
/// embedder) and registers it. `None` (the end closes) where the object could not be made.
pub(crate) fn adopt_port<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &ContextState,
  port: Port,
) -> Option<v8::Local<'s, v8::Object>> {
  let hooks = state.hooks()?;
  let key = state.ports().reserve_key();
  let new_port = v8::Local::new(scope, &hooks.delivery.new_port);
  let object = {
    v8::tc_scope!(let tc, scope);
    let undefined = v8::undefined(tc).into();
    let key = v8::Number::new(tc, key as f64).into();
    let object = new_port
      .call(tc, undefined, &[key])
      .and_then(|object| v8::Local::<v8::Object>::try_from(object).ok())
      .map(|object| v8::Global::new(tc, object));
    if object.is_none() {
      tc.reset();
    }
    object
  }?;
  let object = v8::Local::new(scope, object);
  state.ports().register(scope, key, port, object);
  Some(object)
}
