//! The web `MessageChannel` / `MessagePort` API for V8 embedders, modelled on Cloudflare
//! Workers: ports are `EventTarget`s, messages are structured clones made by V8's
//! `ValueSerializer`, and each message is its own task on an event loop with a microtask
//! checkpoint after it. The globals a bare isolate lacks (`EventTarget`, `Event`,
//! `MessageEvent`, `DOMException`, `structuredClone`, `queueMicrotask`, timers, `console`,
//! `self`) come along.
//!
//! Two ways in:
//! - [`Runtime`]: an isolate and context set up for you, with a tokio event loop.
//! - [`install`] into your own context, then drive delivery with [`run_tasks`] and
//!   [`wait_for_tasks`] (`examples/embed.rs`).
//!
//! Ports can live in different runtimes on different threads: [`entangled_pair`] makes a pair
//! of [`Port`]s, and [`Runtime::adopt_port`] (or [`adopt_port_into`]) gives one to a runtime
//! (`examples/two_runtimes.rs`).
//!
//! What is exposed follows a compatibility date and flags ([`Compat`]), as in workerd.
//! Deliberate differences from the HTML spec are listed in the README under "Deviations".
#![warn(missing_docs)]

/// Defines the constants of `tables.rs` (shared with JS through build.rs) in Rust.
macro_rules! shared_constants {
  ($($(#[$meta:meta])* $name:ident = $value:expr,)*) => {
    $($(#[$meta])* #[allow(dead_code)] pub(crate) const $name: i32 = $value;)*
  };
}

mod array_buffers;
mod channel;
mod clone;
mod compat;
mod context;
mod error;
mod event_loop;
#[cfg(feature = "fuzzing")]
mod fuzzing;
mod install;
mod js_sources;
mod modules;
mod native_names;
mod object_copy;
mod ports;
mod runtime;
mod tables;
mod web_url;
pub mod wpt;

pub use channel::{Port, entangled_pair};
pub use compat::{
  Compat, CompatDate, CompatError, FLAGS, Flag, FlagSpec, NEWEST_COMPATIBILITY_DATE,
};
pub use context::{
  DEFAULT_MAX_MESSAGE_SIZE, Output, Stream, adopt_port_into, has_pending_work, process_output,
  run_tasks, set_max_message_size, take_uncaught_errors, wait_for_tasks,
};
pub use error::{Error, JsError};
pub use event_loop::Poll;
pub use install::{install, install_with_output};
pub use modules::{
  FsModuleLoader, MAX_MODULE_SIZE, ModuleLoader, ModuleSource, ModuleType, resolve_specifier,
  set_module_loader,
};
pub use runtime::{Runtime, RuntimeOptions, init_v8};
pub use url::Url;
pub use v8;
