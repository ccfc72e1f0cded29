//! [`install`]: puts the web classes into a context. This is the one place where the
//! compatibility settings decide which globals exist.

use crate::compat::{Compat, Flag};
use crate::context::{
  ContextState, Output, create_bindings, microtask_checkpoint, process_output, read_hooks,
  set_natives,
};
use crate::error::{Error, JsError};
use crate::modules;
use serde::Serialize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

const BINDINGS_KEY: &str = "__v8mcCore";
const ENTRY_MODULE: &str = "v8mc:99_bootstrap.js";

/// The compatibility settings as the bootstrap module's `applyCompat` reads them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsCompat {
  expose_global_message_channel: bool,
  message_port_transfer: bool,
  cross_origin_isolated: bool,
}

/// Installs `MessageChannel`, `MessagePort` and the web classes they need into `context`,
/// printing console output to the process's stdout and stderr.
///
/// The isolate's promise-reject callback is replaced (unhandled rejections are reported as
/// `unhandledrejection` events), and so are its hooks for `import()` and `import.meta` (user
/// modules load through [`crate::FsModuleLoader`] unless [`crate::set_module_loader`] says
/// otherwise). After installing, drive message delivery and timers with
/// [`crate::run_tasks`]; see `examples/embed.rs`. One context per isolate is supported.
///
/// Install before any script runs in `context`: the internals keep the built-ins they use as
/// they find them then (js/00_primordials.js), so that scripts cannot reach them later.
///
/// ```no_run
/// # fn demo(scope: &mut v8::PinScope<'_, '_, ()>) {
/// let context = v8::Context::new(scope, Default::default());
/// v8_message_channel::install(scope, context, &v8_message_channel::Compat::latest()).unwrap();
/// # }
/// ```
pub fn install(
  scope: &mut v8::PinScope<'_, '_, ()>,
  context: v8::Local<'_, v8::Context>,
  compat: &Compat,
) -> Result<(), Error> {
  install_with_output(scope, context, compat, process_output())
}

/// Like [`install`], with console output and uncaught-error reports sent to `output`.
pub fn install_with_output(
  scope: &mut v8::PinScope<'_, '_, ()>,
  context: v8::Local<'_, v8::Context>,
  compat: &Compat,
  output: Output,
) -> Result<(), Error> {
  let scope = &mut v8::ContextScope::new(scope, context);
  let state = new_state(scope, context, output)?;
  let bindings = create_bindings(scope, &state);
  let global = context.global(scope);
  let bindings_key = v8::String::new(scope, BINDINGS_KEY).expect("short string");
  global.set(scope, bindings_key.into(), bindings.into());
  let result = modules::evaluate(scope, ENTRY_MODULE, None, false);
  // The bindings must never outlive bootstrap, whatever happened.
  global.delete(scope, bindings_key.into());
  let promise = result?;
  microtask_checkpoint(scope, &state);
  match promise.state() {
    v8::PromiseState::Fulfilled => {}
    v8::PromiseState::Rejected => {
      let reason = promise.result(scope);
      return Err(Error::Exception(JsError::from_exception(scope, reason)));
    }
    v8::PromiseState::Pending => {
      return Err(Error::StalledTopLevelAwait(ENTRY_MODULE.to_string()));
    }
  }
  if state.hooks().is_none() {
    return Err(Error::Module("bootstrap did not register its hooks".into()));
  }
  apply_compat(scope, &state, compat)
}

/// Takes over a context restored from the startup snapshot that build.rs made: the web classes
/// are already there; the Rust state, fresh natives and the compatibility settings are not.
pub(crate) fn attach_to_snapshot_context(
  scope: &mut v8::PinScope<'_, '_, ()>,
  context: v8::Local<'_, v8::Context>,
  compat: &Compat,
  output: Output,
) -> Result<(), Error> {
  let scope = &mut v8::ContextScope::new(scope, context);
  let state = new_state(scope, context, output)?;
  let hooks = scope
    .get_context_data_from_snapshot_once::<v8::Object>(SNAPSHOT_HOOKS_INDEX)
    .map_err(|e| Error::Module(format!("the startup snapshot has no hooks: {e}")))?;
  let hooks = read_hooks(scope, hooks)
    .ok_or_else(|| Error::Module("the startup snapshot's hooks are incomplete".into()))?;
  let core = v8::Local::new(scope, &hooks.core);
  set_natives(scope, core, &state);
  state.set_hooks(hooks);
  apply_compat(scope, &state, compat)
}

/// Where build.rs stores the hooks object in the snapshot (`SnapshotCreator::AddData`).
pub(crate) const SNAPSHOT_HOOKS_INDEX: usize = 0;

fn new_state(
  scope: &mut v8::PinScope<'_, '_>,
  context: v8::Local<'_, v8::Context>,
  output: Output,
) -> Result<Rc<ContextState>, Error> {
  if context.get_slot::<ContextState>().is_some() {
    return Err(Error::Module(
      "v8-message-channel is already installed in this context".into(),
    ));
  }
  scope.set_promise_reject_callback(promise_reject_callback);
  scope.set_host_import_module_dynamically_callback(modules::import_dynamically);
  scope.set_host_initialize_import_meta_object_callback(modules::initialize_import_meta);
  let state = Rc::new(ContextState::new(
    output,
    modules::ModuleState::of(&context),
  ));
  context.set_slot(state.clone());
  Ok(state)
}

/// Hands the resolved settings to the bootstrap module's `applyCompat`.
fn apply_compat(
  scope: &mut v8::PinScope<'_, '_>,
  state: &ContextState,
  compat: &Compat,
) -> Result<(), Error> {
  let share_memory = compat.is_enabled(Flag::ShareSharedArrayBuffers);
  let settings = JsCompat {
    expose_global_message_channel: compat.is_enabled(Flag::ExposeGlobalMessageChannel),
    message_port_transfer: compat.is_enabled(Flag::MessagePortTransfer),
    cross_origin_isolated: share_memory,
  };
  let hooks = state
    .hooks()
    .expect("hooks are registered before compat is applied");
  state.set_transfer_ports(settings.message_port_transfer);
  hooks.realm.set_share_memory(share_memory);
  let settings = serde_v8::to_v8(scope, settings).map_err(|e| Error::Conversion(e.to_string()))?;
  let apply = v8::Local::new(scope, &hooks.apply_compat);
  v8::tc_scope!(let scope, scope);
  let undefined = v8::undefined(scope).into();
  if apply.call(scope, undefined, &[settings]).is_none() {
    let exception = scope.exception().expect("a failed call throws");
    return Err(Error::Exception(JsError::from_exception(scope, exception)));
  }
  Ok(())
}

/// Tracks promises rejected with no handler until the next microtask checkpoint looks at them.
extern "C" fn promise_reject_callback(message: v8::PromiseRejectMessage) {
  // A panic must not unwind into V8; if one happens the rejection is simply not tracked.
  let _ = catch_unwind(AssertUnwindSafe(|| {
    // SAFETY: V8 calls this synchronously on the isolate's thread with a context entered.
    v8::callback_scope!(unsafe scope, &message);
    let Some(state) = ContextState::get(scope) else {
      return;
    };
    let promise = message.get_promise();
    match message.get_event() {
      v8::PromiseRejectEvent::PromiseRejectWithNoHandler => {
        let reason = message
          .get_value()
          .unwrap_or_else(|| v8::undefined(scope).into());
        state.track_rejection(
          v8::Global::new(scope, promise),
          v8::Global::new(scope, reason),
        );
      }
      v8::PromiseRejectEvent::PromiseHandlerAddedAfterReject => {
        state.forget_rejection(promise);
      }
      _ => {}
    }
  }));
}
