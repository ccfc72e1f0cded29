//! The natives the internal JS modules call, installed on the bindings object that
//! `js/00_core.js` takes. One plain callback each; every one runs under [`guarded`] so that a
//! Rust panic becomes a JS exception instead of unwinding into V8. Two also have a V8 fast API
//! variant (`cloneKind`, `portPostLocal`): a plain C call from optimized code, which must not
//! allocate on the JS heap or run JS.

use super::{ContextState, DeliveryHooks, EventHooks, Hooks, SharedCells, Stream, messaging, turn};
use crate::clone::{CloneRealm, kind};
use crate::error::JsError;
use crate::native_names::NATIVE_NAMES;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

/// Every native with its name, in the order of [`NATIVE_NAMES`] (the snapshot's external
/// reference table).
pub(crate) fn natives() -> [(&'static str, v8::FunctionCallback); NATIVE_NAMES.len()] {
  use v8::MapFnTo;
  [
    ("print", print.map_fn_to()),
    ("now", now.map_fn_to()),
    ("timeOrigin", time_origin.map_fn_to()),
    ("reportUncaught", report_uncaught.map_fn_to()),
    ("errorLocation", error_location.map_fn_to()),
    ("enqueueMicrotask", enqueue_microtask.map_fn_to()),
    ("timerSchedule", timer_schedule.map_fn_to()),
    ("timerCancel", timer_cancel.map_fn_to()),
    ("structuredClone", structured_clone.map_fn_to()),
    ("setHooks", set_hooks.map_fn_to()),
    ("copyObject", copy_object.map_fn_to()),
    ("cloneKind", clone_kind.map_fn_to()),
    ("cloneKindOf", clone_kind_of.map_fn_to()),
    ("copyBuffer", copy_buffer.map_fn_to()),
    ("portPair", port_pair.map_fn_to()),
    ("portPost", port_post.map_fn_to()),
    ("portPostLocal", port_post_local.map_fn_to()),
    ("portStart", port_start.map_fn_to()),
    ("portClose", port_close.map_fn_to()),
    ("portListening", port_listening.map_fn_to()),
    ("nextMessage", next_message.map_fn_to()),
    ("urlParse", url_parse.map_fn_to()),
    ("urlSet", url_set.map_fn_to()),
    ("formParse", form_parse.map_fn_to()),
    ("formSerialize", form_serialize.map_fn_to()),
    ("valueKind", value_kind.map_fn_to()),
  ]
}

/// The external-reference table a snapshot made by build.rs is restored with.
pub(crate) fn external_references() -> Vec<v8::ExternalReference> {
  natives()
    .into_iter()
    .map(|(_, function)| v8::ExternalReference { function })
    .collect()
}

/// Creates the bindings object with every native on it.
pub(crate) fn create_bindings<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  state: &Rc<ContextState>,
) -> v8::Local<'s, v8::Object> {
  let core = v8::Object::new(scope);
  set_natives(scope, core, state);
  core
}

/// Puts the natives on `core`, each with `state` as its function data, so a call finds its state
/// without a slot lookup. Also used after a snapshot restore, whose natives carry no data.
pub(crate) fn set_natives(
  scope: &mut v8::PinScope<'_, '_>,
  core: v8::Local<'_, v8::Object>,
  state: &Rc<ContextState>,
) {
  let data: v8::Local<v8::Value> =
    v8::External::new(scope, Rc::as_ptr(state) as *mut std::ffi::c_void).into();
  for (name, callback) in natives() {
    let key = v8::String::new(scope, name).expect("short string");
    let function = match fast_overloads(name) {
      Some(overloads) => v8::FunctionTemplate::builder_raw(callback)
        .data(data)
        .build_fast(scope, overloads)
        .get_function(scope),
      None => v8::Function::builder_raw(callback).data(data).build(scope),
    }
    .expect("function creation");
    function.set_name(key);
    core.set(scope, key.into(), function.into());
  }
}

fn throw_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
  let message = v8::String::new(scope, message).expect("short string");
  let error = v8::Exception::error(scope, message);
  scope.throw_exception(error);
}

fn throw_type_error(scope: &mut v8::PinScope<'_, '_>, message: &str) {
  let message = v8::String::new(scope, message).expect("short string");
  let error = v8::Exception::type_error(scope, message);
  scope.throw_exception(error);
}

/// The context state a native's function data points at (see `set_natives`), if it has any.
fn state_of<'a>(data: v8::Local<'_, v8::Value>) -> Option<&'a ContextState> {
  // Natives restored from the snapshot carry no data until `set_natives` replaces them. With
  // the fast paths, a header read saves a call into V8 on every native call, once a probe has
  // passed.
  #[cfg(feature = "fast-paths")]
  let external = match crate::clone::layout::is_external(&data) {
    // SAFETY: `data` has the instance type of an External.
    Some(true) => unsafe { v8::Local::<v8::External>::cast_unchecked(data) },
    Some(false) => return None,
    None => v8::Local::<v8::External>::try_from(data).ok()?,
  };
  #[cfg(not(feature = "fast-paths"))]
  let external = v8::Local::<v8::External>::try_from(data).ok()?;
  // SAFETY: `data` is the pointer of the Rc<ContextState> that `install` keeps in the context's
  // slot for the context's whole life (it is never removed), and these natives can only be
  // called while their context is alive; the state is only used through shared references.
  Some(unsafe { &*(external.value() as *const ContextState) })
}

/// Runs a native's body with its context state; a panic is caught here and rethrown into JS as
/// an Error, so no unwind crosses the FFI boundary.
fn guarded<'s, 'i>(
  scope: &mut v8::PinScope<'s, 'i>,
  args: &v8::FunctionCallbackArguments<'s>,
  name: &str,
  body: impl FnOnce(&mut v8::PinScope<'s, 'i>, &ContextState),
) {
  let slot_state;
  let state = match state_of(args.data()) {
    Some(state) => state,
    // A native from the startup snapshot, before `set_natives` replaced it.
    None => match ContextState::get(scope) {
      Some(state) => {
        slot_state = state;
        &*slot_state
      }
      None => {
        throw_error(scope, "v8-message-channel is not installed in this context");
        return;
      }
    },
  };
  if catch_unwind(AssertUnwindSafe(|| body(&mut *scope, state))).is_err() {
    throw_error(
      scope,
      &format!("internal error in {name} (a bug in v8-message-channel)"),
    );
  }
}

/// A port key from JS: `None` for a negative one (a detached port).
fn port_key(scope: &mut v8::PinScope<'_, '_>, value: v8::Local<'_, v8::Value>) -> Option<u64> {
  let key = value.number_value(scope).unwrap_or(-1.0);
  (key >= 0.0).then_some(key as u64)
}

fn to_list<'s>(
  value: v8::Local<'s, v8::Value>,
  scope: &mut v8::PinScope<'s, '_>,
) -> Vec<v8::Local<'s, v8::Value>> {
  let Ok(array) = v8::Local::<v8::Array>::try_from(value) else {
    return Vec::new();
  };
  (0..array.length())
    .filter_map(|i| array.get_index(scope, i))
    .collect()
}

/// A transfer list's entries and the keys JS gave them (see `messaging`).
fn transfer_args<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  items: v8::Local<'s, v8::Value>,
  keys: v8::Local<'s, v8::Value>,
) -> (Vec<v8::Local<'s, v8::Value>>, Vec<i64>) {
  let items = to_list(items, scope);
  let keys = to_list(keys, scope)
    .into_iter()
    .map(|key| key.integer_value(scope).unwrap_or(-2))
    .collect();
  (items, keys)
}

fn print<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "print", |scope, state| {
    let text = args.get(0).to_rust_string_lossy(scope);
    let stream = if args.get(1).is_true() {
      Stream::Stderr
    } else {
      Stream::Stdout
    };
    state.output(stream, &text);
  });
}

fn now<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "now", |_scope, state| {
    rv.set_double(state.now());
  });
}

/// `timeOrigin()`: when the runtime's clock started, in milliseconds since the Unix epoch.
fn time_origin<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "timeOrigin", |_scope, state| {
    rv.set_double(state.time_origin());
  });
}

fn report_uncaught<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "reportUncaught", |scope, state| {
    let error = JsError::from_exception(scope, args.get(0));
    state.report_uncaught("Uncaught ", error);
  });
}

fn error_location<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "errorLocation", |scope, _state| {
    let message = v8::Exception::create_message(scope, args.get(0));
    let result = v8::Object::new(scope);
    let filename = message
      .get_script_resource_name(scope)
      .filter(|name| name.is_string())
      .unwrap_or_else(|| v8::String::empty(scope).into());
    let lineno = v8::Integer::new(scope, message.get_line_number(scope).unwrap_or(0) as i32);
    let colno = v8::Integer::new(scope, (message.get_start_column() as i32).saturating_add(1));
    // V8's own text for an uncaught value ("Uncaught TypeError: x", "Uncaught 3").
    let text = message.get(scope);
    for (name, value) in [
      ("message", text.into()),
      ("filename", filename),
      ("lineno", lineno.into()),
      ("colno", colno.into()),
    ] {
      let key = v8::String::new(scope, name).expect("short string");
      // Defined, not set: a setter on Object.prototype must not see it.
      result.create_data_property(scope, key.into(), value);
    }
    rv.set(result.into());
  });
}

/// `valueKind(value)`: one of the `VALUE_*` codes of `crate::tables`, from V8's type checks (no
/// JS runs, so a script cannot answer in V8's place).
fn value_kind<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "valueKind", |_scope, _state| {
    rv.set_int32(kind_of_value(args.get(0)));
  });
}

fn kind_of_value(value: v8::Local<'_, v8::Value>) -> i32 {
  use crate::tables::*;
  if value.is_proxy() {
    VALUE_PROXY
  } else if value.is_native_error() {
    VALUE_ERROR
  } else if value.is_date() {
    VALUE_DATE
  } else if value.is_reg_exp() {
    VALUE_REGEXP
  } else if value.is_map() {
    VALUE_MAP
  } else if value.is_set() {
    VALUE_SET
  } else if value.is_weak_map() {
    VALUE_WEAK_MAP
  } else if value.is_weak_set() {
    VALUE_WEAK_SET
  } else if value.is_promise() {
    VALUE_PROMISE
  } else if value.is_array_buffer() {
    VALUE_ARRAY_BUFFER
  } else if value.is_shared_array_buffer() {
    VALUE_SHARED_ARRAY_BUFFER
  } else if value.is_typed_array() {
    VALUE_TYPED_ARRAY
  } else if value.is_data_view() {
    VALUE_DATA_VIEW
  } else if value.is_array() {
    VALUE_ARRAY
  } else {
    VALUE_OTHER
  }
}

fn enqueue_microtask<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "enqueueMicrotask", |scope, _state| {
    match v8::Local::<v8::Function>::try_from(args.get(0)) {
      Ok(callback) => scope.enqueue_microtask(callback),
      Err(_) => throw_type_error(scope, "enqueueMicrotask: callback is not a function"),
    }
  });
}

fn timer_schedule<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "timerSchedule", |scope, state| {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    let delay = args.get(1).number_value(scope).unwrap_or(0.0).max(0.0);
    state
      .timers()
      .schedule(id, Duration::from_secs_f64(delay / 1000.0));
  });
}

fn timer_cancel<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "timerCancel", |scope, state| {
    let id = args.get(0).uint32_value(scope).unwrap_or(0);
    state.timers().cancel(id);
  });
}

/// `structuredClone(value, transfer, keys)`: V8's serializer and deserializer, with the
/// transfer list's ArrayBuffers and MessagePorts moved.
fn structured_clone<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "structuredClone", |scope, state| {
    let (items, keys) = transfer_args(scope, args.get(1), args.get(2));
    if let Some(value) = messaging::structured_clone(scope, state, args.get(0), &items, &keys) {
      rv.set(value);
    }
  });
}

/// `portPair(port1, port2)`: a new entangled pair for two new port objects; returns the key of
/// port1 (port2's is one more).
fn port_pair<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portPair", |scope, state| {
    let (Ok(port1), Ok(port2)) = (
      v8::Local::<v8::Object>::try_from(args.get(0)),
      v8::Local::<v8::Object>::try_from(args.get(1)),
    ) else {
      throw_type_error(scope, "portPair: expected two port objects");
      return;
    };
    let (end1, end2) = crate::channel::entangled_pair();
    let mut ports = state.ports();
    let key = ports.reserve_key();
    let key2 = ports.reserve_key();
    ports.register(scope, key, end1, port1);
    ports.register(scope, key2, end2, port2);
    rv.set_double(key as f64);
  });
}

/// `portPost(key, message, transfer, keys)`: `postMessage` through the serializer. Returns
/// whether the peer is in this isolate.
fn port_post<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portPost", |scope, state| {
    let key = port_key(scope, args.get(0));
    let (items, keys) = transfer_args(scope, args.get(2), args.get(3));
    // On failure the DataCloneError (or a getter's exception) is already pending.
    if let Some(here) = messaging::post(scope, state, key, args.get(1), &items, &keys) {
      rv.set_bool(here);
    }
  });
}

/// `portPostLocal(key, copy)`: posts a copy made by `js/11_message_copy.js`; returns a `POST*`
/// code of `crate::tables`.
fn port_post_local<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portPostLocal", |scope, state| {
    rv.set_int32(post_local_in(scope, state, args.get(0), args.get(1)));
  });
}

/// `portPostLocal` from optimized code: the same answer as [`port_post_local`].
fn port_post_local_fast(
  _receiver: v8::Local<v8::Value>,
  key: v8::Local<v8::Value>,
  copy: v8::Local<v8::Value>,
  options: *mut v8::fast_api::FastApiCallbackOptions,
) -> i32 {
  catch_unwind(AssertUnwindSafe(|| {
    // SAFETY: V8 passes options that are valid for the duration of the call.
    let options = unsafe { &*options };
    let Some(state) = state_of(options.data) else {
      return crate::tables::POST_DROPPED;
    };
    // SAFETY: `options` comes from V8 for this call, on the isolate's thread; the scope ends
    // with the call.
    v8::callback_scope!(unsafe let scope, options);
    post_local_in(scope, state, key, copy)
  }))
  .unwrap_or(crate::tables::POST_DROPPED)
}

/// What both `portPostLocal` entry points do. Runs no JS; the copy's handle is the only thing
/// it makes in V8.
fn post_local_in(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  key: v8::Local<'_, v8::Value>,
  copy: v8::Local<'_, v8::Value>,
) -> i32 {
  let key = match v8::Local::<v8::Number>::try_from(key) {
    Ok(key) if key.value() >= 0.0 => key.value() as u64,
    _ => return crate::tables::POST_DROPPED,
  };
  state.ports().post_local(scope, key, copy)
}

fn port_start<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portStart", |scope, state| {
    if let Some(key) = port_key(scope, args.get(0)) {
      state.ports().start(scope, key);
    }
  });
}

fn port_close<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portClose", |scope, state| {
    if let Some(key) = port_key(scope, args.get(0)) {
      state.ports().close(scope, key);
    }
  });
}

/// `portListening(key, type, listening)`: whether the port has listeners of `type` (a
/// `LISTEN_*` code of `crate::tables`) now.
fn port_listening<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "portListening", |scope, state| {
    let Some(key) = port_key(scope, args.get(0)) else {
      return;
    };
    let listening = args.get(2).is_true();
    match args.get(1).int32_value(scope) {
      Some(crate::tables::LISTEN_MESSAGE) => state.ports().set_listening(scope, key, listening),
      Some(crate::tables::LISTEN_CLOSE) => {
        state.ports().set_close_listening(scope, key, listening);
      }
      _ => {}
    }
  });
}

/// `nextMessage(key)`: the next message of a run being delivered, or the `stop` sentinel (see
/// `crate::context::turn::next_message`).
fn next_message<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "nextMessage", |scope, state| {
    let key = port_key(scope, args.get(0)).unwrap_or(u64::MAX);
    rv.set(turn::next_message(scope, state, key));
  });
}

/// `copyBuffer(buffer)`: a new ArrayBuffer with a copy of `buffer`'s bytes (the same-isolate
/// copy's buffers; large ones are copied once, into memory V8 then adopts).
fn copy_buffer<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "copyBuffer", |scope, _state| {
    let Ok(buffer) = v8::Local::<v8::ArrayBuffer>::try_from(args.get(0)) else {
      throw_type_error(scope, "copyBuffer: not an ArrayBuffer");
      return;
    };
    match crate::array_buffers::copy_of(scope, buffer) {
      Some(copy) => rv.set(copy.into()),
      None => throw_error(scope, "copyBuffer: out of memory"),
    }
  });
}

/// A null-prototype object with `url`'s components, by getter name (`crate::web_url`).
fn url_components<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  url: &url::Url,
) -> v8::Local<'s, v8::Object> {
  let mut names = Vec::with_capacity(11);
  let mut values = Vec::with_capacity(11);
  for (name, value) in crate::web_url::components(url) {
    names.push(v8::String::new(scope, name).expect("short string").into());
    let value = v8::String::new(scope, &value).unwrap_or_else(|| v8::String::empty(scope));
    values.push(value.into());
  }
  let null = v8::null(scope).into();
  v8::Object::with_prototype_and_properties(scope, null, &names, &values)
}

/// `urlParse(input, base)`: the components of `new URL(input, base)`, or null where it fails.
fn url_parse<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "urlParse", |scope, _state| {
    let input = args.get(0).to_rust_string_lossy(scope);
    let base = Some(args.get(1))
      .filter(|base| !base.is_undefined())
      .map(|base| base.to_rust_string_lossy(scope));
    match crate::web_url::parse(&input, base.as_deref()) {
      Some(url) => rv.set(url_components(scope, &url).into()),
      None => rv.set_null(),
    }
  });
}

/// `urlSet(href, name, value)`: the components after the URL's `name` setter ran with `value`.
/// Throws a TypeError where the `href` setter fails.
fn url_set<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "urlSet", |scope, _state| {
    let href = args.get(0).to_rust_string_lossy(scope);
    let name = args.get(1).to_rust_string_lossy(scope);
    let value = args.get(2).to_rust_string_lossy(scope);
    let Ok(mut url) = url::Url::parse(&href) else {
      throw_type_error(scope, &format!("urlSet: {href:?} is not a URL"));
      return;
    };
    match crate::web_url::set(&mut url, &name, &value) {
      Ok(()) => rv.set(url_components(scope, &url).into()),
      Err(reason) => throw_type_error(scope, &format!("Invalid URL: {reason}")),
    }
  });
}

/// `formParse(input)`: the pairs of an `application/x-www-form-urlencoded` string, flat.
fn form_parse<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "formParse", |scope, _state| {
    let input = args.get(0).to_rust_string_lossy(scope);
    let mut flat = Vec::new();
    for (name, value) in crate::web_url::parse_form(&input) {
      for text in [name, value] {
        let text = v8::String::new(scope, &text).unwrap_or_else(|| v8::String::empty(scope));
        flat.push(text.into());
      }
    }
    rv.set(v8::Array::new_with_elements(scope, &flat).into());
  });
}

/// `formSerialize(flat)`: the `application/x-www-form-urlencoded` string of flat pairs.
fn form_serialize<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "formSerialize", |scope, _state| {
    let texts: Vec<String> = to_list(args.get(0), scope)
      .into_iter()
      .map(|text| text.to_rust_string_lossy(scope))
      .collect();
    let pairs = texts
      .chunks_exact(2)
      .map(|pair| (pair[0].as_str(), pair[1].as_str()));
    let serialized = crate::web_url::serialize_form(pairs);
    let serialized =
      v8::String::new(scope, &serialized).unwrap_or_else(|| v8::String::empty(scope));
    rv.set(serialized.into());
  });
}

/// Natives that optimized code may call as V8 fast API calls (a plain C call instead of an API
/// callback): only at run time, so the snapshot made by build.rs does not need their addresses.
fn fast_overloads(name: &str) -> Option<&'static [v8::fast_api::CFunction]> {
  use v8::fast_api::{CFunction, CFunctionInfo, Int64Representation, Type};
  const CLONE_KIND: &[CFunction] = &[CFunction::new(
    clone_kind_fast as _,
    &CFunctionInfo::new(
      Type::Int32.as_info(),
      &[
        Type::V8Value.as_info(),
        Type::V8Value.as_info(),
        Type::CallbackOptions.as_info(),
      ],
      Int64Representation::Number,
    ),
  )];
  const PORT_POST_LOCAL: &[CFunction] = &[CFunction::new(
    port_post_local_fast as _,
    &CFunctionInfo::new(
      Type::Int32.as_info(),
      &[
        Type::V8Value.as_info(),
        Type::V8Value.as_info(),
        Type::V8Value.as_info(),
        Type::CallbackOptions.as_info(),
      ],
      Int64Representation::Number,
    ),
  )];
  match name {
    "cloneKind" => Some(CLONE_KIND),
    "portPostLocal" => Some(PORT_POST_LOCAL),
    _ => None,
  }
}

/// `cloneKind(value)` from optimized code: the same answer as [`clone_kind`].
fn clone_kind_fast(
  _receiver: v8::Local<v8::Value>,
  value: v8::Local<v8::Value>,
  options: *mut v8::fast_api::FastApiCallbackOptions,
) -> i32 {
  catch_unwind(AssertUnwindSafe(|| {
    // SAFETY: V8 passes options that are valid for the duration of the call.
    let options = unsafe { &*options };
    let Some(state) = state_of(options.data) else {
      return crate::tables::CLONE_GIVE_UP;
    };
    // SAFETY: `options` comes from V8 for this call, on the isolate's thread; the scope ends
    // with the call.
    v8::callback_scope!(unsafe let scope, options);
    kind_in(scope, state, value)
  }))
  .unwrap_or(crate::tables::CLONE_GIVE_UP)
}

/// `cloneKind(value)`: what the same-isolate copy may do with an object (see
/// `crate::clone::kind`). Runs no JS, allocates nothing on the JS heap.
fn clone_kind<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "cloneKind", |scope, state| {
    rv.set_int32(kind_in(scope, state, args.get(0)));
  });
}

/// What both `cloneKind` entry points answer. The hooks are borrowed, not cloned: this runs
/// for every object posted.
fn kind_in(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  value: v8::Local<'_, v8::Value>,
) -> i32 {
  match state.hooks_ref().as_ref() {
    Some(hooks) => kind::kind_of(scope, &hooks.realm, value),
    None => crate::tables::CLONE_GIVE_UP,
  }
}

/// `cloneKindOf(value)`: `cloneKind` for an object whose hidden class is not known yet, which it
/// proves (through the API, which allocates).
fn clone_kind_of<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "cloneKindOf", |scope, state| {
    let Some(hooks) = state.hooks() else {
      rv.set_int32(crate::tables::CLONE_GIVE_UP);
      return;
    };
    rv.set_int32(kind::prove(scope, &hooks.realm, args.get(0)));
  });
}

/// `copyObject(object)`: a shallow copy that keeps `object`'s shape, so own accessors and
/// private fields come along (see `crate::object_copy`). Only the internal modules call it, with
/// an event they made; anything but a plain JS object is refused.
fn copy_object<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  mut rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(
    scope,
    &args,
    "copyObject",
    |scope, _state| match crate::object_copy::shallow_copy(scope, args.get(0)) {
      Some(copy) => rv.set(copy.into()),
      None => throw_type_error(scope, "copyObject: not a copyable object"),
    },
  );
}

fn set_hooks<'s>(
  scope: &mut v8::PinScope<'s, '_>,
  args: v8::FunctionCallbackArguments<'s>,
  _rv: v8::ReturnValue<'s, v8::Value>,
) {
  guarded(scope, &args, "setHooks", |scope, state| {
    let Ok(hooks) = v8::Local::<v8::Object>::try_from(args.get(0)) else {
      throw_type_error(scope, "setHooks: expected an object");
      return;
    };
    match read_hooks(scope, hooks) {
      Some(hooks) => state.set_hooks(hooks),
      None => throw_type_error(scope, "setHooks: a hook is missing"),
    }
  });
}

/// The elements of the JS array `list` that are `T`s, held as Globals.
fn globals_of<'s, T>(
  scope: &mut v8::PinScope<'s, '_>,
  list: v8::Local<'s, v8::Value>,
) -> Vec<v8::Global<T>>
where
  v8::Local<'s, T>: TryFrom<v8::Local<'s, v8::Value>>,
{
  to_list(list, scope)
    .into_iter()
    .filter_map(|v| v8::Local::<T>::try_from(v).ok())
    .map(|v| v8::Global::new(scope, v))
    .collect()
}

/// Reads the hooks object the bootstrap module hands over (see `js/99_bootstrap.js`).
pub(crate) fn read_hooks(
  scope: &mut v8::PinScope<'_, '_>,
  hooks: v8::Local<'_, v8::Object>,
) -> Option<Hooks> {
  fn get<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    hooks: v8::Local<'_, v8::Object>,
    name: &str,
  ) -> Option<v8::Local<'s, v8::Value>> {
    let key = v8::String::new(scope, name)?;
    hooks.get(scope, key.into())
  }
  let mut function = |name: &str| {
    let function = v8::Local::<v8::Function>::try_from(get(scope, hooks, name)?).ok()?;
    Some(v8::Global::new(scope, function))
  };
  let events = EventHooks {
    report_exception: function("reportException")?,
    run_timer: function("runTimer")?,
    unhandled_rejection: function("unhandledRejection")?,
  };
  let deliver_messages = function("deliverMessages")?;
  let deliver_close = function("deliverClose")?;
  let new_port = function("newPort")?;
  let with_ports = function("withPorts")?;
  let apply_compat = function("applyCompat")?;
  let new_data_clone_error = function("newDataCloneError")?;
  let mut value = |name: &str| {
    let value = get(scope, hooks, name)?;
    Some(v8::Global::new(scope, value))
  };
  let delivery = DeliveryHooks {
    deliver_messages,
    deliver_close,
    new_port,
    with_ports,
    stop: value("stop")?,
    lost: value("lost")?,
  };
  let mut object = |name: &str| {
    let object = v8::Local::<v8::Object>::try_from(get(scope, hooks, name)?).ok()?;
    Some(v8::Global::new(scope, object))
  };
  let message_port_prototype = object("messagePortPrototype")?;
  let core = object("core")?;
  // The buffer behind the shared typed array; the value sits at its start.
  let clock = get(scope, hooks, "taskClock")?;
  let clock = v8::Local::<v8::Float64Array>::try_from(clock)
    .ok()
    .filter(|view| view.byte_offset() == 0)?;
  let task_clock = SharedCells::new(clock.buffer(scope)?.get_backing_store(), 1)?;
  let limit = get(scope, hooks, "messageLimit")?;
  let limit = v8::Local::<v8::Float64Array>::try_from(limit)
    .ok()
    .filter(|view| view.byte_offset() == 0)?;
  let message_limit = SharedCells::new(limit.buffer(scope)?.get_backing_store(), 1)?;
  let list = get(scope, hooks, "arraySamples")?;
  let array_samples = globals_of::<v8::Array>(scope, list);
  let list = get(scope, hooks, "platformPrototypes")?;
  let platform_prototypes = globals_of::<v8::Object>(scope, list);
  let kinds = kind::Kinds::new(scope, array_samples);
  let realm = CloneRealm::new(
    new_data_clone_error,
    platform_prototypes,
    message_port_prototype,
    kinds,
  );
  Some(Hooks {
    core,
    apply_compat,
    events,
    delivery,
    realm: Rc::new(realm),
    task_clock,
    message_limit,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  /// The snapshot made by build.rs binds natives by index into NATIVE_NAMES.
  #[test]
  fn natives_are_listed_in_snapshot_order() {
    let names: Vec<&str> = natives().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, NATIVE_NAMES);
  }
}
