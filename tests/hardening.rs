//! Scripts that sabotage the built-ins before they use the channel: the internals must not call
//! what a script replaced, must not lose listeners or messages to accessors a script put on the
//! prototypes, and must keep working.

use crate::setup::run;

/// Replaces or wraps most built-ins the internals could call, and puts recording accessors on
/// Object.prototype and Array.prototype for the keys internal records and lists use. Every
/// sabotaged function records its name in `tripped` (through functions taken before any of this),
/// and still does its job, so a script that used one would not break, only be seen.
const SABOTAGE: &str = r#"
const tripped = new Map();
const mapSet = Map.prototype.set;
const mapClear = Map.prototype.clear;
const mapForEach = Map.prototype.forEach;
const reflectApply = Reflect.apply;
const stringify = JSON.stringify;
const noProto = (array) => Object.setPrototypeOf(array, null);
const trip = (name) => reflectApply(mapSet, tripped, [name, true]);
// What the script says, kept out of reach of the accessors below.
const out = noProto([]);
const say = (line) => { out[out.length] = line; };
const sample = { a: [1, { b: 2 }], m: new Map([[1, 2]]) };

function wrapMethods(owner, ownerName, names) {
  for (const name of names) {
    const original = owner[name];
    if (typeof original !== "function") continue;
    const label = `${ownerName}.${typeof name === "symbol" ? name.description : name}`;
    Object.defineProperty(owner, name, {
      __proto__: null,
      value: function (...args) {
        trip(label);
        return reflectApply(original, this, args);
      },
      writable: true,
      configurable: true,
    });
  }
}

const arrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]());
const mapIteratorPrototype = Object.getPrototypeOf(new Map()[Symbol.iterator]());
const setIteratorPrototype = Object.getPrototypeOf(new Set()[Symbol.iterator]());
wrapMethods(Array.prototype, "Array.prototype", [
  "push", "pop", "shift", "unshift", "splice", "slice", "indexOf", "includes", "find",
  "findIndex", "map", "filter", "forEach", "join", "concat", "some", "every", "reduce",
  Symbol.iterator,
]);
wrapMethods(arrayIteratorPrototype, "ArrayIterator", ["next"]);
wrapMethods(mapIteratorPrototype, "MapIterator", ["next"]);
wrapMethods(setIteratorPrototype, "SetIterator", ["next"]);
wrapMethods(Map.prototype, "Map.prototype", [
  "get", "set", "has", "delete", "clear", "forEach", "entries", "keys", "values", Symbol.iterator,
]);
wrapMethods(Set.prototype, "Set.prototype", [
  "add", "has", "delete", "clear", "forEach", "values", Symbol.iterator,
]);
wrapMethods(WeakMap.prototype, "WeakMap.prototype", ["get", "set", "has", "delete"]);
wrapMethods(WeakSet.prototype, "WeakSet.prototype", ["add", "has", "delete"]);
wrapMethods(Function.prototype, "Function.prototype", ["call", "apply", "bind"]);
wrapMethods(Promise.prototype, "Promise.prototype", ["then", "catch", "finally"]);
wrapMethods(String.prototype, "String.prototype", [
  "slice", "toWellFormed", "indexOf", "split", "replace", "toLowerCase", "startsWith",
]);
wrapMethods(Reflect, "Reflect", [
  "apply", "construct", "defineProperty", "getOwnPropertyDescriptor", "ownKeys",
  "getPrototypeOf", "setPrototypeOf",
]);
wrapMethods(Object, "Object", [
  "freeze", "keys", "entries", "defineProperty", "getPrototypeOf", "setPrototypeOf",
  "getOwnPropertyDescriptor",
]);
wrapMethods(Number, "Number", ["isFinite", "isInteger"]);
wrapMethods(Math, "Math", ["trunc", "floor", "max", "min"]);
wrapMethods(JSON, "JSON", ["stringify", "parse"]);

// Globals replaced outright.
for (const name of ["Number", "String", "Symbol", "TypeError", "Error", "RangeError", "setTimeout", "eval"]) {
  const original = globalThis[name];
  const label = `global ${name}`;
  const replacement = function (...args) {
    trip(label);
    return new.target ? Reflect.construct(original, args, new.target) : reflectApply(original, this, args);
  };
  Object.setPrototypeOf(replacement, original);
  replacement.prototype = original.prototype;
  globalThis[name] = replacement;
}

// Accessors for the keys internal lists and records use: a read or a write that reaches the
// prototype is recorded, and the value written is lost as the captured listener was.
const keys = [
  "0", "1", "2", "3", "4", "type", "callback", "capture", "once", "passive", "signal",
  "removed", "listener", "value", "handler", "args", "repeat", "delay", "nesting", "data",
  "ports", "key", "bubbles", "cancelable", "composed", "message", "filename", "lineno",
  "colno", "error", "detail", "transfer", "constructor", "then", "get", "set", "next", "done",
  "code", "name", "cause", "lastEventId", "origin", "source",
];
for (const key of keys) {
  for (const [proto, protoName] of [[Object.prototype, "Object.prototype"], [Array.prototype, "Array.prototype"]]) {
    if (Object.hasOwn(proto, key)) continue;
    // Descriptors have no prototype: this very loop puts `get`, `set` and `value` on it.
    Object.defineProperty(proto, key, {
      __proto__: null,
      get() { trip(`get ${protoName}[${key}]`); return undefined; },
      set(v) { trip(`set ${protoName}[${key}]`); },
      configurable: true,
    });
  }
}
Object.defineProperty(Array.prototype, "constructor", {
  __proto__: null,
  get() { trip("get Array.prototype.constructor"); return Array; },
  configurable: true,
});
for (const ctor of [Array, Map, Set, Promise]) {
  Object.defineProperty(ctor, Symbol.species, {
    __proto__: null,
    get() { trip(`${ctor.name}[Symbol.species]`); return ctor; },
    configurable: true,
  });
}
for (const ctor of [Error, MessagePort, EventTarget, Event, AbortSignal]) {
  Object.defineProperty(ctor, Symbol.hasInstance, {
    __proto__: null,
    value(v) { trip(`${ctor.name}[Symbol.hasInstance]`); return Function.prototype[Symbol.hasInstance].call(this, v); },
    configurable: true,
  });
}
// Public methods a script may replace and this one never calls: the internals must not call
// them in place of their own steps (setting onmessage starts the port, a `once` listener is
// removed, a handler returning false cancels).
wrapMethods(MessagePort.prototype, "MessagePort.prototype", ["start"]);
wrapMethods(EventTarget.prototype, "EventTarget.prototype", ["removeEventListener"]);
wrapMethods(Event.prototype, "Event.prototype", ["preventDefault", "stopPropagation", "stopImmediatePropagation"]);

// Setting all this up used some of what it wrapped.
reflectApply(mapClear, tripped, []);
"#;

/// Reports what ran: the lines the script said, then what it tripped.
const REPORT: &str = r#"
const report = () => {
  let names = "";
  reflectApply(mapForEach, tripped, [(_, name) => { names += ` ${name}`; }]);
  let text = "";
  for (let i = 0; i < out.length; i++) text += `${out[i]}\n`;
  console.log(`${text}tripped:${names === "" ? " nothing" : names}`);
};
"#;

#[test]
fn messages_events_and_timers_work_without_calling_sabotaged_built_ins() {
  let source = format!(
    "{SABOTAGE}{REPORT}{}",
    r#"
    const { port1, port2 } = new MessageChannel();
    let got = 0;
    port2.onmessage = (e) => {
      say(`onmessage ${stringify(e.data)} ${e.ports.length}`);
      if (++got === 3) port2.close();
    };
    port2.addEventListener("message", (e) => say(`listener ${e.data.n}`));
    const once = { handleEvent(e) { say(`handleEvent once ${e.type}`); } };
    port2.addEventListener("message", once, { capture: false, once: true, passive: false, signal: undefined });
    port1.onclose = () => {
      say("port1 close");
      // An event target of the script's own, a handler returning false, and abort.
      const target = new EventTarget();
      target.addEventListener("ping", (e) => say(`ping ${e.detail.v} ${e.cancelable}`));
      // A dictionary's inherited members are read (WebIDL): this one has none.
      const ping = new CustomEvent("ping", { __proto__: null, detail: { v: 1 }, cancelable: true });
      target.dispatchEvent(ping);
      const controller0 = new AbortController();
      controller0.signal.onabort = () => false;
      const abortEvent = new Event("abort", { __proto__: null, cancelable: true });
      say(`handler returning false cancels: ${!controller0.signal.dispatchEvent(abortEvent)}`);
      const controller = new AbortController();
      controller.signal.onabort = () => say(`aborted ${controller.signal.reason.name}`);
      controller.abort();
      const timeout = AbortSignal.timeout(1);
      timeout.addEventListener("abort", () => {
        say(`timeout ${timeout.reason.name}`);
        const error = new DOMException("m", "DataCloneError");
        say(`DOMException ${error.name} ${error.code} ${error.message}`);
        try { structuredClone(() => {}); } catch (err) { say(`structuredClone ${err.name}`); }
        const clone = structuredClone(sample);
        say(`clone ${clone.a[1].b} ${clone.m.size}`);
        queueMicrotask(() => {
          say("microtask");
          report();
        });
      }, { capture: false, once: false, passive: false, signal: undefined });
    };
    port1.postMessage({ n: 1 });
    port1.postMessage({ n: 2, nested: [1, [2, 3]] });
    const carried = new MessageChannel();
    // The transfer list is iterated with its own iterator (WebIDL): a generator, not an array.
    port1.postMessage({ n: 3 }, { transfer: { *[Symbol.iterator]() { yield carried.port1; } } });
    "#
  );
  let outcome = run(&source);
  outcome.expect_ok();
  assert_eq!(
    outcome.lines(),
    [
      "onmessage {\"n\":1} 0",
      "listener 1",
      "handleEvent once message",
      "onmessage {\"n\":2,\"nested\":[1,[2,3]]} 0",
      "listener 2",
      "onmessage {\"n\":3} 1",
      "listener 3",
      "port1 close",
      "ping 1 true",
      "handler returning false cancels: true",
      "aborted AbortError",
      "timeout TimeoutError",
      "DOMException DataCloneError 25 m",
      "structuredClone DataCloneError",
      "clone 2 1",
      "microtask",
      "tripped: nothing",
    ]
  );
}

#[test]
fn console_url_and_performance_work_without_calling_sabotaged_built_ins() {
  let source = format!(
    "{SABOTAGE}{REPORT}{}",
    r#"
    const url = new URL("https://example.com/a/b?x=1&y=2#h");
    url.searchParams.append("z", "3");
    url.searchParams.sort();
    say(`${url.href} ${url.searchParams.getAll("x").length} ${url.searchParams.size}`);
    const params = new URLSearchParams({ __proto__: null, b: "2", a: "1" });
    params.set("c", "3");
    params.delete("b");
    let listed = "";
    params.forEach((value, name) => { listed += `${name}=${value};`; });
    say(`${params} ${listed} ${params.has("a")} ${params.get("c")}`);
    performance.mark("start", { __proto__: null, startTime: 1 });
    performance.mark("end", { __proto__: null, startTime: 5 });
    const m = performance.measure("m", "start", "end");
    say(`${m.duration} ${performance.getEntriesByType("mark").length} ${performance.getEntries().length}`);
    performance.clearMarks("start");
    say(`${performance.getEntriesByName("end").length} ${performance.getEntriesByName("start").length}`);
    report();
    // After the report: console output must come out whole, whatever the built-ins became.
    console.log("%s and %d: %o", "text", 42, { a: [1, , { b: new Map([[1, new Set([2])]]) }] });
    console.log([1, 2, 3], new Error("boom").message, new Date(0), /re/g, Symbol("s"), 10n);
    console.group("group");
    console.log("inside");
    console.groupEnd();
    console.count("c");
    console.count("c");
    "#
  );
  let outcome = run(&source);
  outcome.expect_ok();
  assert_eq!(
    outcome.lines(),
    [
      "https://example.com/a/b?x=1&y=2&z=3#h 1 3",
      "a=1&c=3 a=1;c=3; true 3",
      "4 2 3",
      "1 0",
      "tripped: nothing",
      "text and 42: { a: [ 1, <1 empty item>, { b: Map(1) { 1 => Set(1) { 2 } } } ] }",
      "[ 1, 2, 3 ] boom 1970-01-01T00:00:00.000Z /re/g Symbol(s) 10n",
      "group",
      "  inside",
      "c: 1",
      "c: 2",
    ]
  );
}
