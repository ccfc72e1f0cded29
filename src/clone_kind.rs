//! The one question the message tape (`js/11_message_tape.js`) cannot answer in JS: what kind of
//! object a value is, asked before JS touches it. A proxy runs user code on every operation and
//! an exotic object looks like a plain one to JS, so the tape asks here, once per object, and
//! copies only what V8's serializer would copy as a plain object or array.

use crate::object_layout;
use crate::state::Hooks;

/// Anything else: the serializer decides (class instances, null-prototype objects, Map, Set,
/// errors, proxies, platform objects, functions, ...).
pub(crate) const OTHER: i32 = 0;
/// An ordinary object whose prototype is the context's `Object.prototype`.
pub(crate) const PLAIN: i32 = 1;
/// An `Array` of the context with no own enumerable named properties besides its elements.
pub(crate) const ARRAY: i32 = 2;
/// A value the serializer copies from internal slots alone, running no JS and holding no
/// reference the tape could share: Date, RegExp, boxed primitives, buffers and views.
pub(crate) const LEAF: i32 = 3;
/// An ARRAY of a packed elements kind: every index below its length is an own data property,
/// at least until user code runs.
pub(crate) const PACKED_ARRAY: i32 = 4;

/// Arrays longer than this go to the serializer, which writes sparse arrays compactly; the tape
/// visits every index.
const ARRAY_MAX: u32 = 1 << 16;

/// The kind of `value` for the tape (see the constants). Runs no JS.
pub(crate) fn kind_of(
  scope: &mut v8::PinScope<'_, '_>,
  hooks: &Hooks,
  value: v8::Local<'_, v8::Value>,
) -> i32 {
  if hooks.layout_known
    && let Some(kind) = kind_from_header(scope, hooks, value)
  {
    return kind;
  }
  if value.is_array() {
    let Ok(array) = v8::Local::<v8::Array>::try_from(value) else {
      return OTHER;
    };
    if array.length() > ARRAY_MAX
      || array
        .get_prototype(scope)
        .is_none_or(|proto| hooks.array_prototype != proto)
    {
      return OTHER;
    }
    // Named properties on an array are cloned too; the tape only copies elements.
    let named = array.get_property_names(
      scope,
      v8::GetPropertyNamesArgs {
        mode: v8::KeyCollectionMode::OwnOnly,
        property_filter: v8::PropertyFilter::ONLY_ENUMERABLE | v8::PropertyFilter::SKIP_SYMBOLS,
        index_filter: v8::IndexFilter::SkipIndices,
        key_conversion: v8::KeyConversionMode::KeepNumbers,
      },
    );
    return match named {
      Some(named) if named.length() == 0 => ARRAY,
      _ => OTHER,
    };
  }
  if value.is_proxy() || !value.is_object() || value.is_function() {
    return OTHER;
  }
  if value.is_date()
    || value.is_reg_exp()
    || value.is_array_buffer()
    || value.is_array_buffer_view()
    || value.is_shared_array_buffer()
    || value.is_number_object()
    || value.is_string_object()
    || value.is_boolean_object()
    || value.is_big_int_object()
  {
    return LEAF;
  }
  if hooks.layout_known {
    // Every ordinary object was answered from its header; anything else is not plain, however
    // its prototype was set (a WeakRef, an iterator or an Intl object given Object.prototype).
    return OTHER;
  }
  let Ok(object) = v8::Local::<v8::Object>::try_from(value) else {
    return OTHER;
  };
  // Without the header reads: exotic objects with a V8 predicate are excluded by name; the
  // prototype check catches the rest unless a script gave one Object.prototype by hand.
  if value.is_map()
    || value.is_set()
    || value.is_native_error()
    || value.is_promise()
    || value.is_weak_map()
    || value.is_weak_set()
    || value.is_arguments_object()
    || value.is_generator_object()
    || value.is_map_iterator()
    || value.is_set_iterator()
    || value.is_module_namespace_object()
    || value.is_symbol_object()
    || value.is_wasm_module_object()
    || value.is_wasm_memory_object()
    || object.internal_field_count() > 0
    || object.is_api_wrapper()
  {
    return OTHER;
  }
  let plain = object
    .get_prototype(scope)
    .is_some_and(|proto| hooks.object_prototype == proto);
  if plain && hooks.global_object != object {
    PLAIN
  } else {
    OTHER
  }
}

/// How many of `hooks.array_samples` come first with packed elements (js/99_bootstrap.js).
const PACKED_SAMPLES: usize = 3;

/// The answer for the two common cases, from the object's header (`crate::object_layout`):
/// an ordinary object, and an array with the map of one of `hooks.array_samples` (which have no
/// named properties, and Array.prototype as prototype, like any array sharing their map). None
/// sends the value through the API checks above.
fn kind_from_header(
  scope: &mut v8::PinScope<'_, '_>,
  hooks: &Hooks,
  value: v8::Local<'_, v8::Value>,
) -> Option<i32> {
  if object_layout::instance_type(&value)? == object_layout::JS_OBJECT_TYPE {
    // SAFETY: an object of instance type JS_OBJECT_TYPE is a JSObject.
    let object = unsafe { v8::Local::<v8::Object>::cast_unchecked(value) };
    // As above: no internal fields, the context's Object.prototype. An ordinary object is
    // never the global object (a JS_GLOBAL_PROXY_TYPE) nor an API wrapper.
    let plain = object.internal_field_count() == 0
      && object
        .get_prototype(scope)
        .is_some_and(|proto| hooks.object_prototype == proto);
    return Some(if plain { PLAIN } else { OTHER });
  }
  for (index, sample) in hooks.array_samples.iter().enumerate() {
    if object_layout::same_map(&value, sample.open(scope)) {
      // SAFETY: `value` has the map of an Array, so it is a JSArray.
      let array = unsafe { v8::Local::<v8::Array>::cast_unchecked(value) };
      return Some(if array.length() > ARRAY_MAX {
        OTHER
      } else if index < PACKED_SAMPLES {
        PACKED_ARRAY
      } else {
        ARRAY
      });
    }
  }
  None
}
