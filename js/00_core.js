// The native bindings that Rust hands to the internal modules.
//
// Rust puts the bindings object on the global object under a private-looking name just before
// it evaluates the internal modules; this module, evaluated first, takes it and the bootstrap
// module deletes the global property when it is done, so user code never sees it.

export const core = globalThis.__v8mcCore;
