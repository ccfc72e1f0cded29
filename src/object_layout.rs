//! Two facts about a V8 heap object read from its header, without a call into V8: its instance
//! type, and whether it shares its map (hidden class) with another object. `crate::clone_kind`
//! asks them of every object a message holds; through the API, the same answers take about
//! thirty calls for an object and a full key listing for an array.
//!
//! The reads are the ones V8's own inline API functions make (`v8::internal::Internals` in
//! `v8-internal.h`: `GetInstanceType`, used by `Value::IsUndefined` and the internal-field fast
//! paths), with that header's offsets for this exact V8 (the crate pins `v8 = "=150.4.0"`).
//! They assume what that header assumes for a build without pointer compression, which is the
//! `v8` crate's default: a handle is a pointer to a slot holding the object's tagged address,
//! and a tagged field is a full pointer. [`probe`] checks those assumptions on real values once
//! per context; when they do not hold (a build with pointer compression, say), `clone_kind`
//! keeps asking V8 through the API.

use std::sync::atomic::{AtomicU16, Ordering};

/// `Internals::kHeapObjectTag`: the low bits of a tagged pointer to a heap object.
const HEAP_OBJECT_TAG: usize = 1;
const TAG_MASK: usize = 3;
/// `Internals::kHeapObjectMapOffset`: a heap object starts with its map.
const MAP_OFFSET: usize = 0;
/// `Internals::kMapInstanceTypeOffset` with 8-byte tagged fields: `1 * 8 + 4`.
const INSTANCE_TYPE_OFFSET: usize = 12;
/// `Internals::kJSObjectType` (V8 15.0): ordinary objects, the only instance type V8's
/// serializer writes as a plain object without further checks (API objects aside).
pub(crate) const JS_OBJECT_TYPE: u16 = 0x421;

/// The tagged word in `value`'s handle slot.
fn tagged(value: &v8::Value) -> usize {
  // SAFETY: a `&v8::Value` from rusty_v8 is the address of a handle slot (a `Local` or a
  // `Global` is a pointer to one; rusty_v8 builds V8 without direct handles), and the slot
  // holds one machine word, the value's tagged representation, for as long as the handle
  // lives, which outlives this borrow.
  unsafe { std::ptr::read(value as *const v8::Value as *const usize) }
}

/// The map word of `value`, when it is a heap object.
fn map_word(value: &v8::Value) -> Option<usize> {
  let tagged = tagged(value);
  if tagged & TAG_MASK != HEAP_OBJECT_TAG {
    return None;
  }
  // SAFETY: `tagged` points (minus its tag) at a live heap object: the handle keeps it alive,
  // and no V8 call between here and the caller's use can move it (only a GC moves objects, on
  // this thread, at an allocation). Every heap object starts with its map, a full pointer in a
  // build without pointer compression, which `probe` checked before any caller gets here.
  Some(unsafe { std::ptr::read((tagged - HEAP_OBJECT_TAG + MAP_OFFSET) as *const usize) })
}

/// `value`'s instance type, when it is a heap object.
pub(crate) fn instance_type(value: &v8::Value) -> Option<u16> {
  let map = map_word(value)?;
  // SAFETY: a map word is the tagged pointer of a live map (maps outlive the objects using
  // them), whose instance type is a 16-bit field at INSTANCE_TYPE_OFFSET.
  Some(unsafe { std::ptr::read((map - HEAP_OBJECT_TAG + INSTANCE_TYPE_OFFSET) as *const u16) })
}

/// Whether `a` and `b` are heap objects with the same map: the same instance type, prototype
/// and own property layout (names, attributes, accessors), since V8 gives an object a new map
/// whenever one of those changes.
pub(crate) fn same_map(a: &v8::Value, b: &v8::Value) -> bool {
  matches!((map_word(a), map_word(b)), (Some(a), Some(b)) if a == b)
}

/// The instance type of `v8::External`s, once a probe has seen one (0: not yet). V8's number
/// for it is not in the public header, so it is learned from a real External; it is the same
/// for every isolate of the process.
static EXTERNAL_TYPE: AtomicU16 = AtomicU16::new(0);

/// Whether `value` is a `v8::External`; None until a probe has passed in this process.
pub(crate) fn is_external(value: &v8::Value) -> Option<bool> {
  let external = EXTERNAL_TYPE.load(Ordering::Relaxed);
  (external != 0).then(|| instance_type(value) == Some(external))
}

/// Whether the reads above are right for this V8 build. Makes a few values and reads them:
/// a Smi must be stored as `value << 32` (no pointer compression, where Smis are 31-bit and
/// tagged fields 4 bytes), an object literal must be a JS_OBJECT_TYPE and an array not, and
/// two fresh arrays must share a map that an array with a named property does not.
pub(crate) fn probe(scope: &mut v8::PinScope<'_, '_>) -> bool {
  let smi = v8::Integer::new(scope, 5);
  if tagged(&smi) != 5 << 32 {
    return false;
  }
  let object = v8::Object::new(scope);
  let array = v8::Array::new(scope, 0);
  let other = v8::Array::new(scope, 0);
  let named = v8::Array::new(scope, 0);
  let Some(key) = v8::String::new(scope, "named") else {
    return false;
  };
  if named.set(scope, key.into(), smi.into()) != Some(true) {
    return false;
  }
  let external = v8::External::new(scope, std::ptr::null_mut());
  let external_type = instance_type(&external).filter(|&t| t != JS_OBJECT_TYPE && t != 0);
  let known = instance_type(&object) == Some(JS_OBJECT_TYPE)
    && instance_type(&array).is_some_and(|t| t != JS_OBJECT_TYPE && Some(t) != external_type)
    && same_map(&array, &other)
    && !same_map(&array, &named)
    && !same_map(&array, &object);
  if let (true, Some(external_type)) = (known, external_type) {
    EXTERNAL_TYPE.store(external_type, Ordering::Relaxed);
  }
  known
}
