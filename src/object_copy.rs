//! Shallow copies of JS objects that keep their shape (V8's `Object::Clone`), which rusty_v8
//! does not bind.
//!
//! Why: every event needs its own `isTrusted` accessor ([LegacyUnforgeable]), and defining it
//! per instance is the single most expensive step of delivering a message (a generic
//! DefineOwnProperty in C++, ~250 ns). A copy of a ready-made event has the accessor in its map
//! already, and its private fields too; only the fields that differ are then set.
//!
//! Calling a C++ member function through its mangled name is a `fast-paths` speed-up: without
//! the feature (or on another ABI) there is no copy, and JS constructs each event.

/// A copy of `value` with the same map and property values, or `None` for anything but an
/// ordinary JS object (V8 would abort on a proxy, and copying functions, arrays or objects
/// with internal state is not what this is for).
pub(crate) fn shallow_copy<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  value: v8::Local<'s, v8::Value>,
) -> Option<v8::Local<'s, v8::Object>> {
  let object = v8::Local::<v8::Object>::try_from(value).ok()?;
  if value.is_proxy()
    || value.is_function()
    || value.is_array()
    || value.is_array_buffer()
    || value.is_array_buffer_view()
    || value.is_map()
    || value.is_set()
    || value.is_promise()
    || value.is_date()
    || value.is_reg_exp()
    || object.internal_field_count() > 0
  {
    return None;
  }
  clone(scope, object)
}

#[cfg(all(
  feature = "fast-paths",
  unix,
  any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn clone<'s>(
  _scope: &mut v8::PinScope<'s, '_>,
  object: v8::Local<'s, v8::Object>,
) -> Option<v8::Local<'s, v8::Object>> {
  unsafe extern "C" {
    // `Local<Object> v8::Object::Clone()`, exported by the V8 archive the v8 crate links.
    #[link_name = "_ZN2v86Object5CloneEv"]
    fn v8_object_clone(this: *const v8::Object) -> *const v8::Object;
  }
  // SAFETY: on the Itanium C++ ABI (Linux, macOS) a non-virtual member function takes `this` as
  // its first argument, and `v8::Local<T>` (one pointer, trivially copyable) comes back in the
  // return register; a rusty_v8 `Local` is that same pointer to a handle slot (`Local` is
  // `repr(C)` around a `NonNull<T>`, so `Option<Local>` is a nullable pointer). `object` is a
  // live handle and not a proxy (checked by the caller), the scope's isolate is entered and
  // a handle scope is open (the copy's handle goes into it), which is all `Clone` needs.
  unsafe {
    let copy = v8_object_clone(&*object);
    std::mem::transmute::<*const v8::Object, Option<v8::Local<'s, v8::Object>>>(copy)
  }
}

/// Without the fast paths, or elsewhere (the MSVC ABI returns class types from member functions
/// through a hidden pointer), the JS side constructs events.
#[cfg(not(all(
  feature = "fast-paths",
  unix,
  any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn clone<'s>(
  _scope: &mut v8::PinScope<'s, '_>,
  _object: v8::Local<'s, v8::Object>,
) -> Option<v8::Local<'s, v8::Object>> {
  None
}
