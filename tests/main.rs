//! The one integration-test binary (the V8 archive is linked once). Each module tests one area
//! through the public API; `setup` holds the helpers.

mod setup;

mod cli;
mod clone;
mod collection;
mod compat;
mod copy;
mod embed;
mod event_loop;
mod events;
mod fuzz_regressions;
mod gating;
mod hardening;
mod limits;
mod memory;
mod messaging;
mod modules;
mod performance;
mod reentrancy;
mod same_isolate;
mod soak;
mod threads;
mod transfer;
mod url;
mod wpt;
