//! Facts about a V8 heap object read from its header and its map (hidden class), without a call
//! into V8: its instance type, its map's identity, whether the map is a dictionary map and what
//! its elements kind is. `crate::clone::kind` asks them of every object a message holds; through
//! the API the same answers take about thirty calls for an object and a full key listing for an
//! array, and whether a property is an accessor takes a descriptor per key.
//!
//! This is the `fast-paths` feature's reading of V8 internals. The instance type is read the way
//! V8's own inline API functions read it (`v8::internal::Internals` in `v8-internal.h`); the
//! other fields are those of `src/objects/map.tq` in this exact V8 (the crate pins `v8 =
//! "=150.4.0"`). The reads assume a build without pointer compression, the `v8` crate's
//! default: a handle is a pointer to a slot holding the object's tagged address, and a tagged
//! field is a full pointer. [`probe`] checks every one of them on real values once per context;
//! when one does not hold, the copy is off and every message takes the serializer.

use std::sync::atomic::{AtomicU16, Ordering};

/// `Internals::kHeapObjectTag`: the low bits of a tagged pointer to a heap object.
const HEAP_OBJECT_TAG: usize = 1;
const TAG_MASK: usize = 3;
/// `Internals::kHeapObjectMapOffset`: a heap object starts with its map.
const MAP_OFFSET: usize = 0;
/// `Internals::kMapInstanceTypeOffset` with 8-byte tagged fields: `1 * 8 + 4`.
const INSTANCE_TYPE_OFFSET: usize = 12;
/// `Map::bit_field2` (map.tq: after the 16-bit instance type and the 8-bit `bit_field`).
const BIT_FIELD2_OFFSET: usize = 15;
/// `Map::bit_field3`, a 32-bit field.
const BIT_FIELD3_OFFSET: usize = 16;
/// `MapBitFields2::elements_kind`: 6 bits above two flag bits.
const ELEMENTS_KIND_SHIFT: u32 = 2;
const ELEMENTS_KIND_MASK: u8 = 0x3f;
/// `MapBitFields3::is_dictionary_map`: after 10 bits of enum length, 10 of descriptor count and
/// the prototype-map bit.
const IS_DICTIONARY_MAP_BIT: u32 = 21;
/// Elements kinds (`elements-kind.h`). Those up to `HOLEY_FROZEN_ELEMENTS` keep data in a fast
/// store: packed and holey Smi, tagged, double, non-extensible, sealed and frozen elements.
pub(crate) const PACKED_SMI_ELEMENTS: u8 = 0;
pub(crate) const HOLEY_SMI_ELEMENTS: u8 = 1;
pub(crate) const PACKED_ELEMENTS: u8 = 2;
pub(crate) const HOLEY_ELEMENTS: u8 = 3;
pub(crate) const PACKED_DOUBLE_ELEMENTS: u8 = 4;
pub(crate) const HOLEY_DOUBLE_ELEMENTS: u8 = 5;
const LAST_FAST_DATA_ELEMENTS_KIND: u8 = 11;
const DICTIONARY_ELEMENTS: u8 = 13;
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

/// The map word of `value`, when it is a heap object: the tagged address of its map.
pub(crate) fn map_word(value: &v8::Value) -> Option<usize> {
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

/// Reads a `T` at `offset` in `value`'s map.
fn map_field<T: Copy>(value: &v8::Value, offset: usize) -> Option<T> {
  let map = map_word(value)?;
  // SAFETY: a map word is the tagged pointer of a live map (maps outlive the objects using
  // them), whose fields at the offsets above are plain integers of these sizes (`probe` checked
  // them on real maps); the reads are unaligned-safe.
  Some(unsafe { std::ptr::read_unaligned((map - HEAP_OBJECT_TAG + offset) as *const T) })
}

/// `value`'s instance type, when it is a heap object.
pub(crate) fn instance_type(value: &v8::Value) -> Option<u16> {
  map_field(value, INSTANCE_TYPE_OFFSET)
}

/// Whether `value`'s map is a dictionary map: its properties are in a hash table, not described
/// by the map (so objects sharing the map may differ in their kinds of properties).
pub(crate) fn is_dictionary_map(value: &v8::Value) -> Option<bool> {
  let bits: u32 = map_field(value, BIT_FIELD3_OFFSET)?;
  Some(bits >> IS_DICTIONARY_MAP_BIT & 1 == 1)
}

/// `value`'s elements kind.
pub(crate) fn elements_kind(value: &v8::Value) -> Option<u8> {
  let bits: u8 = map_field(value, BIT_FIELD2_OFFSET)?;
  Some(bits >> ELEMENTS_KIND_SHIFT & ELEMENTS_KIND_MASK)
}

/// Whether `value`'s elements are of a fast kind, which holds only data properties.
pub(crate) fn has_fast_data_elements(value: &v8::Value) -> Option<bool> {
  Some(elements_kind(value)? <= LAST_FAST_DATA_ELEMENTS_KIND)
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
/// tagged fields 4 bytes); an object must be a JS_OBJECT_TYPE and an array not; two fresh
/// arrays must share a map that an array with a named property does not; the elements kinds of
/// arrays made through the API, empty, with an object and with a far index stored, must be
/// holey tagged, holey tagged and dictionary; `{a, b}` must not have a dictionary map
/// and the same object after a delete must. (`crate::clone::kind` also checks the packed kinds
/// of the bootstrap's sample arrays.)
pub(crate) fn probe(scope: &mut v8::PinScope<'_, '_>) -> bool {
  let smi = v8::Integer::new(scope, 5);
  if tagged(&smi) != 5 << 32 {
    return false;
  }
  let Some(values) = probe_values(scope) else {
    return false;
  };
  let [object, array, other, named, tagged_array, sparse, deleted] = values;
  let external = v8::External::new(scope, std::ptr::null_mut());
  let external_type = instance_type(&external).filter(|&t| t != JS_OBJECT_TYPE && t != 0);
  let known = instance_type(&object) == Some(JS_OBJECT_TYPE)
    && instance_type(&array).is_some_and(|t| t != JS_OBJECT_TYPE && Some(t) != external_type)
    && same_map(&array, &other)
    && !same_map(&array, &named)
    && !same_map(&array, &object)
    // Arrays made through the API are holey.
    && elements_kind(&array) == Some(HOLEY_ELEMENTS)
    && elements_kind(&tagged_array) == Some(HOLEY_ELEMENTS)
    && elements_kind(&sparse) == Some(DICTIONARY_ELEMENTS)
    && has_fast_data_elements(&sparse) == Some(false)
    && has_fast_data_elements(&tagged_array) == Some(true)
    && is_dictionary_map(&object) == Some(false)
    && is_dictionary_map(&deleted) == Some(true);
  if let (true, Some(external_type)) = (known, external_type) {
    EXTERNAL_TYPE.store(external_type, Ordering::Relaxed);
  }
  known
}

/// The values [`probe`] reads, made through the API: `{a: 1, b: 2}`, `[]`, `[]`, `[]` with a
/// named property, `[{}]`, a sparse array and `{a: 1, b: 2, c: 3}` after `delete a`.
fn probe_values<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<[v8::Local<'s, v8::Value>; 7]> {
  let one: v8::Local<v8::Value> = v8::Integer::new(scope, 1).into();
  let object_with = |scope: &mut v8::PinScope<'s, '_>, keys: &[&str]| {
    let object = v8::Object::new(scope);
    for key in keys {
      let key = v8::String::new(scope, key)?;
      object.set(scope, key.into(), one)?;
    }
    Some(object)
  };
  let object = object_with(scope, &["a", "b"])?;
  let deleted = object_with(scope, &["a", "b", "c"])?;
  let a = v8::String::new(scope, "a")?;
  deleted.delete(scope, a.into())?;
  let array = v8::Array::new(scope, 0);
  let other = v8::Array::new(scope, 0);
  let named = v8::Array::new(scope, 0);
  let key = v8::String::new(scope, "named")?;
  named.set(scope, key.into(), one)?;
  let tagged_array = v8::Array::new(scope, 0);
  let element = v8::Object::new(scope).into();
  tagged_array.set_index(scope, 0, element)?;
  let sparse = v8::Array::new(scope, 0);
  sparse.set_index(scope, 100_000, one)?;
  Some([
    object.into(),
    array.into(),
    other.into(),
    named.into(),
    tagged_array.into(),
    sparse.into(),
    deleted.into(),
  ])
}
