//! The `js/` sources, embedded by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/js_sources.rs"));
