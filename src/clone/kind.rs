//! The one question the same-isolate copy (`js/11_message_copy.js`) asks of every object before
//! it reads any of it: can it be copied without running user code, and as what?
//!
//! The copy must give exactly what V8's serializer gives, and the serializer runs getters, so
//! the copy only takes objects it can prove have none: an ordinary object whose hidden class
//! (map) has only data properties among its enumerable string keys and fast elements, an array
//! whose map is that of a pristine array (no named properties), and builtins the serializer
//! copies from internal slots. Anything else is [`CLONE_GIVE_UP`]: the whole message goes
//! through the serializer, before the copy has run any code.
//!
//! A map is proven once, through the API, and remembered by address until the next garbage
//! collection (only a collection moves or frees maps). Reading maps is a V8-internals fast path
//! (`crate::clone::layout`); without the `fast-paths` feature, or where the layout probe fails,
//! every object is [`CLONE_GIVE_UP`] and every message takes the serializer.

#[cfg(feature = "fast-paths")]
use super::layout;
use crate::tables::*;
#[cfg(feature = "fast-paths")]
use std::cell::RefCell;
#[cfg(feature = "fast-paths")]
use std::collections::HashMap;
#[cfg(feature = "fast-paths")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Arrays longer than this go to the serializer, which writes sparse arrays compactly; the copy
/// visits every index.
#[cfg(feature = "fast-paths")]
const ARRAY_MAX: u32 = 1 << 16;

/// Proven maps remembered at most; past this, the set starts over.
#[cfg(feature = "fast-paths")]
const PROVEN_MAX: usize = 4096;

/// Counts garbage collections of every isolate: a proven map's address is only trusted while
/// this has not moved (any collection may move or free maps). Counting all isolates' collections
/// is conservative and needs no per-isolate state.
#[cfg(feature = "fast-paths")]
static COLLECTIONS: AtomicU64 = AtomicU64::new(0);

#[cfg(feature = "fast-paths")]
unsafe extern "C" fn count_collection(
  _isolate: v8::UnsafeRawIsolatePtr,
  _type: v8::GCType,
  _flags: v8::GCCallbackFlags,
  _data: *mut std::ffi::c_void,
) {
  COLLECTIONS.fetch_add(1, Ordering::Relaxed);
}

/// Marks an isolate whose collections [`count_collection`] counts (one callback per isolate,
/// however many realms it has).
#[cfg(feature = "fast-paths")]
struct CountsCollections;

/// Maps proven to describe only data properties, by address, valid for one collection count;
/// each with whether its prototype is `Object.prototype` or null. Any other prototype's own
/// chain may change without the map changing (to reach a platform prototype), so objects of
/// those maps are checked again each time (`FastKinds::prove`), though not proven again.
#[cfg(feature = "fast-paths")]
#[derive(Default)]
struct ProvenMaps {
  collections: u64,
  maps: HashMap<usize, bool>,
  /// The last map found with an ordinary prototype.
  last: usize,
}

/// What a realm knows for [`kind_of`].
pub(crate) struct Kinds {
  #[cfg(feature = "fast-paths")]
  fast: Option<FastKinds>,
}

#[cfg(feature = "fast-paths")]
struct FastKinds {
  /// Arrays of each fast elements kind with nothing but elements, never given to user code
  /// (`arraySamples` in js/99_bootstrap.js): packed ones first, then holey ones.
  array_samples: Vec<v8::Global<v8::Array>>,
  object_prototype: v8::Global<v8::Value>,
  proven: RefCell<ProvenMaps>,
}

/// How many of the array samples come first with packed elements.
#[cfg(feature = "fast-paths")]
const PACKED_SAMPLES: usize = 3;

impl Kinds {
  /// The kinds for a realm with these array samples; `None`-like (every object gives up) when
  /// the `fast-paths` feature is off or the object layout probe fails in this V8 build.
  pub fn new(scope: &mut v8::PinScope<'_, '_>, array_samples: Vec<v8::Global<v8::Array>>) -> Self {
    #[cfg(feature = "fast-paths")]
    {
      // The samples are `[], [0.5], [{}]` and their holey forms (js/99_bootstrap.js).
      let kinds = [
        layout::PACKED_SMI_ELEMENTS,
        layout::PACKED_DOUBLE_ELEMENTS,
        layout::PACKED_ELEMENTS,
        layout::HOLEY_SMI_ELEMENTS,
        layout::HOLEY_DOUBLE_ELEMENTS,
        layout::HOLEY_ELEMENTS,
      ];
      let samples_known = array_samples.len() == kinds.len()
        && array_samples
          .iter()
          .zip(kinds)
          .all(|(sample, kind)| layout::elements_kind(sample.open(scope)) == Some(kind));
      let fast = (samples_known && layout::probe(scope)).then(|| {
        if scope.get_slot::<CountsCollections>().is_none() {
          scope.add_gc_epilogue_callback(
            count_collection,
            std::ptr::null_mut(),
            v8::GCType::kGCTypeAll,
          );
          scope.set_slot(CountsCollections);
        }
        let object_prototype = v8::Object::new(scope)
          .get_prototype(scope)
          .unwrap_or_else(|| v8::null(scope).into());
        FastKinds {
          array_samples,
          object_prototype: v8::Global::new(scope, object_prototype),
          proven: RefCell::new(ProvenMaps::default()),
        }
      });
      Kinds { fast }
    }
    #[cfg(not(feature = "fast-paths"))]
    {
      let _ = (scope, array_samples);
      Kinds {}
    }
  }

  fn kind_of(&self, scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> i32 {
    #[cfg(feature = "fast-paths")]
    if let Some(fast) = &self.fast {
      return fast.kind_of(scope, value);
    }
    let _ = (scope, value);
    CLONE_GIVE_UP
  }

  fn prove(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    realm: &super::CloneRealm,
    value: v8::Local<'_, v8::Value>,
  ) -> bool {
    #[cfg(feature = "fast-paths")]
    if let Some(fast) = &self.fast {
      return fast.prove(scope, realm, value);
    }
    let _ = (scope, realm, value);
    false
  }
}

/// The kind of `value` for the copy (see `crate::tables`), from what is known already: an
/// ordinary object of a map not proven yet is [`CLONE_UNKNOWN`] ([`prove`] finds out). Runs no
/// JS and allocates nothing on the JS heap, so optimized code may call it as a fast API call.
pub(crate) fn kind_of(
  scope: &mut v8::PinScope<'_, '_>,
  realm: &super::CloneRealm,
  value: v8::Local<'_, v8::Value>,
) -> i32 {
  realm.kinds.kind_of(scope, value)
}

/// [`kind_of`] for an ordinary object whose map is not proven yet: proves it through the API
/// (which allocates) and answers.
pub(crate) fn prove(
  scope: &mut v8::PinScope<'_, '_>,
  realm: &super::CloneRealm,
  value: v8::Local<'_, v8::Value>,
) -> i32 {
  match realm.kinds.kind_of(scope, value) {
    CLONE_UNKNOWN if realm.kinds.prove(scope, realm, value) => CLONE_PLAIN,
    CLONE_UNKNOWN => CLONE_GIVE_UP,
    kind => kind,
  }
}

#[cfg(feature = "fast-paths")]
impl FastKinds {
  fn kind_of(&self, scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> i32 {
    let Some(map) = layout::map_word(&value) else {
      return CLONE_GIVE_UP;
    };
    let Some(instance_type) = layout::instance_type(&value) else {
      return CLONE_GIVE_UP;
    };
    if instance_type == layout::JS_OBJECT_TYPE {
      let mut proven = self.proven.borrow_mut();
      let collections = COLLECTIONS.load(Ordering::Relaxed);
      if proven.collections != collections {
        proven.collections = collections;
        proven.maps.clear();
        proven.last = 0;
      }
      if proven.last == map {
        return CLONE_PLAIN;
      }
      if proven.maps.get(&map) == Some(&true) {
        proven.last = map;
        return CLONE_PLAIN;
      }
      return CLONE_UNKNOWN;
    }
    for (index, sample) in self.array_samples.iter().enumerate() {
      if layout::same_map(&value, sample.open(scope)) {
        // SAFETY: `value` has the map of an Array, so it is a JSArray.
        let array = unsafe { v8::Local::<v8::Array>::cast_unchecked(value) };
        return if array.length() > ARRAY_MAX {
          CLONE_GIVE_UP
        } else if index < PACKED_SAMPLES {
          CLONE_PACKED_ARRAY
        } else {
          CLONE_HOLEY_ARRAY
        };
      }
    }
    builtin_kind(scope, value)
  }

  /// Proves the map of the ordinary object `value` describes only data properties among its
  /// enumerable string keys, fast elements (which are data) and no platform prototype, and
  /// remembers it. Runs no JS: the checks go through the API on the object itself.
  fn prove(
    &self,
    scope: &mut v8::PinScope<'_, '_>,
    realm: &super::CloneRealm,
    value: v8::Local<'_, v8::Value>,
  ) -> bool {
    let Some(map) = layout::map_word(&value) else {
      return false;
    };
    if layout::instance_type(&value) != Some(layout::JS_OBJECT_TYPE)
      || layout::is_dictionary_map(&value) != Some(false)
      || !layout::has_fast_data_elements(&value).unwrap_or(false)
    {
      return false;
    }
    // SAFETY: an object of instance type JS_OBJECT_TYPE is a JSObject.
    let object = unsafe { v8::Local::<v8::Object>::cast_unchecked(value) };
    if object.internal_field_count() > 0 || realm.is_platform_object(scope, object) {
      return false;
    }
    let known = self.fresh_proven().maps.get(&map).copied();
    if known.is_some() {
      // Proven before, with a prototype of its own: only its chain needed checking.
      return true;
    }
    let prototype = object.get_prototype(scope);
    let ordinary_prototype = prototype.is_some_and(|prototype| {
      prototype.is_null() || prototype == v8::Local::new(scope, &self.object_prototype)
    });
    let Some(names) = object.get_property_names(
      scope,
      v8::GetPropertyNamesArgs {
        mode: v8::KeyCollectionMode::OwnOnly,
        property_filter: v8::PropertyFilter::ONLY_ENUMERABLE | v8::PropertyFilter::SKIP_SYMBOLS,
        index_filter: v8::IndexFilter::SkipIndices,
        key_conversion: v8::KeyConversionMode::KeepNumbers,
      },
    ) else {
      return false;
    };
    let get = v8::String::new(scope, "get").expect("short string");
    let set = v8::String::new(scope, "set").expect("short string");
    for index in 0..names.length() {
      let Some(name) = names
        .get_index(scope, index)
        .and_then(|name| v8::Local::<v8::Name>::try_from(name).ok())
      else {
        return false;
      };
      let Some(descriptor) = object
        .get_own_property_descriptor(scope, name)
        .and_then(|d| v8::Local::<v8::Object>::try_from(d).ok())
      else {
        return false;
      };
      let accessor = descriptor.has_own_property(scope, get.into()) != Some(false)
        || descriptor.has_own_property(scope, set.into()) != Some(false);
      if accessor {
        return false;
      }
    }
    // The map was read before any allocation above; a collection since then may have moved it.
    if layout::map_word(&value) != Some(map) {
      return false;
    }
    let mut proven = self.fresh_proven();
    if proven.maps.len() >= PROVEN_MAX {
      proven.maps.clear();
      proven.last = 0;
    }
    proven.maps.insert(map, ordinary_prototype);
    if ordinary_prototype {
      proven.last = map;
    }
    true
  }

  /// The proven maps, forgotten if a collection ran since they were proven.
  fn fresh_proven(&self) -> std::cell::RefMut<'_, ProvenMaps> {
    let mut proven = self.proven.borrow_mut();
    let collections = COLLECTIONS.load(Ordering::Relaxed);
    if proven.collections != collections {
      proven.collections = collections;
      proven.maps.clear();
      proven.last = 0;
    }
    proven
  }
}

/// The builtins the copy takes, by their V8 type checks (no JS runs): dates, regexps, boxed
/// primitives, Maps, Sets, and ArrayBuffers and views that are neither shared, resizable nor
/// detached.
#[cfg(feature = "fast-paths")]
fn builtin_kind(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> i32 {
  if value.is_proxy() {
    CLONE_GIVE_UP
  } else if value.is_date() {
    CLONE_DATE
  } else if value.is_reg_exp() {
    CLONE_REGEXP
  } else if value.is_map() {
    CLONE_MAP
  } else if value.is_set() {
    CLONE_SET
  } else if value.is_number_object() {
    CLONE_NUMBER_OBJECT
  } else if value.is_string_object() {
    CLONE_STRING_OBJECT
  } else if value.is_boolean_object() {
    CLONE_BOOLEAN_OBJECT
  } else if value.is_big_int_object() {
    CLONE_BIGINT_OBJECT
  } else if let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(value) {
    if plain_buffer(buffer) {
      CLONE_ARRAY_BUFFER
    } else {
      CLONE_GIVE_UP
    }
  } else if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(value) {
    // A view without a buffer of its own yet keeps its bytes in V8's heap: a plain buffer,
    // not made here (that would allocate). Views on shared memory have a SharedArrayBuffer,
    // which is not an ArrayBuffer.
    let plain = !view.has_buffer() || view.buffer(scope).is_some_and(plain_buffer);
    if !plain {
      CLONE_GIVE_UP
    } else if value.is_data_view() {
      CLONE_DATA_VIEW
    } else if value.is_typed_array() {
      CLONE_TYPED_ARRAY
    } else {
      CLONE_GIVE_UP
    }
  } else {
    CLONE_GIVE_UP
  }
}

#[cfg(feature = "fast-paths")]
fn plain_buffer(buffer: v8::Local<'_, v8::ArrayBuffer>) -> bool {
  !buffer.was_detached() && !buffer.get_backing_store().is_resizable_by_user_javascript()
}
