// The natives on the bindings object, in the order of the V8 external-reference table. build.rs
// includes this file too: the startup snapshot refers to natives by their index here, so the
// library's table (src/bindings.rs) must list them in the same order (a test checks it).
pub(crate) const NATIVE_NAMES: [&str; 23] = [
  "print",
  "now",
  "reportUncaught",
  "errorLocation",
  "enqueueMicrotask",
  "timerSchedule",
  "timerCancel",
  "structuredClone",
  "portPair",
  "portPost",
  "portStart",
  "portClose",
  "setHooks",
  "copyObject",
  "cloneKind",
  "portPostTape",
  "newChunk",
  "nextMessage",
  "timeOrigin",
  "urlParse",
  "urlSet",
  "formParse",
  "formSerialize",
];
