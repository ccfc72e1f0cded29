// The built-ins the internal modules call at run time, taken when the modules load, before any
// user code runs. A script may replace or wrap any built-in (`Array.prototype.push`,
// `Map.prototype.get`, `Reflect.apply`, the global `Symbol`), or put an accessor on a prototype
// (`Object.prototype["0"]`, `Object.prototype.once`); the internals must neither call it nor
// lose data to it. So they:
// - call these captured functions (through ReflectApply for methods), never a method looked up
//   on a built-in at run time;
// - keep lists in arrays without a prototype (`newList`), written by index: an index write on an
//   ordinary array looks for a setter up its prototype chain (`push` does too);
// - keep tables in SafeMap / SafeWeakMap / SafeSet, whose methods are their own copies, and walk
//   them with forEach (an iterator's `next` lives on a shared prototype);
// - read only properties an internal record owns (records are class instances or null-prototype
//   objects with every field set), and build internal init dictionaries without a prototype.
// Only built-ins V8 ships without a flag can be taken here: the startup snapshot is made before
// V8 adds the flag-gated ones (`Error.isError`, `Float16Array`) to a context it restores.
// What the spec makes observable stays observable: options objects are read with ordinary
// property reads, and sequences given by the user are iterated with their own iterators.

export const ReflectApply = Reflect.apply;
export const ReflectConstruct = Reflect.construct;
export const ReflectDefineProperty = Reflect.defineProperty;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ObjectFreeze = Object.freeze;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectSetPrototypeOf = Object.setPrototypeOf;
export const ObjectPrototype = Object.prototype;
export const NumberCtor = Number;
export const NumberIsFinite = Number.isFinite;
export const MathTrunc = Math.trunc;
export const MathMin = Math.min;
export const JSONStringify = JSON.stringify;
export const StringCtor = String;
export const StringPrototypeToWellFormed = String.prototype.toWellFormed;
export const SymbolCtor = Symbol;
export const SymbolIterator = Symbol.iterator;
export const SymbolToStringTag = Symbol.toStringTag;
export const TypeErrorCtor = TypeError;
export const ErrorCtor = Error;
/** Indirect eval, for string timer handlers. */
export const indirectEval = globalThis.eval;

// @startup
/** A list with no prototype: index writes and reads never reach user code. */
export function newList() {
  return ObjectSetPrototypeOf([], null);
}

// @startup
/** Appends `value` to a list made by newList. */
export function listPush(list, value) {
  list[list.length] = value;
}

// @startup
/** Removes the entry at `index` of a list made by newList, keeping the order of the rest. */
export function listRemoveAt(list, index) {
  const n = list.length - 1;
  for (let i = index; i < n; i++) list[i] = list[i + 1];
  list.length = n;
}

// @startup
/** A copy of the first `length` entries of an array-like the internals own, as a list. */
export function listCopy(source) {
  const n = source.length;
  const copy = newList();
  for (let i = 0; i < n; i++) copy[i] = source[i];
  return copy;
}

/**
 * Makes `Safe` (a subclass of `Base`) carry its own copies of Base's prototype methods, so that
 * replacing one on `Base.prototype` does not reach its instances.
 */
function makeSafe(Base, Safe) {
  const keys = ReflectOwnKeys(Base.prototype);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === "constructor") continue;
    ReflectDefineProperty(Safe.prototype, key, ReflectGetOwnPropertyDescriptor(Base.prototype, key));
  }
  ObjectFreeze(Safe.prototype);
  ObjectFreeze(Safe);
  return Safe;
}

/** A Map whose methods user code cannot replace. Iterate it with forEach. */
export const SafeMap = makeSafe(
  Map,
  class SafeMap extends Map {
    constructor() {
      super();
    }
  },
);

/** A WeakMap whose methods user code cannot replace. */
export const SafeWeakMap = makeSafe(
  WeakMap,
  class SafeWeakMap extends WeakMap {
    constructor() {
      super();
    }
  },
);

/** A Set whose methods user code cannot replace. Iterate it with forEach. */
export const SafeSet = makeSafe(
  Set,
  class SafeSet extends Set {
    constructor() {
      super();
    }
  },
);

// @startup
/** `String.prototype.toWellFormed` of a string. */
export function toWellFormed(string) {
  return ReflectApply(StringPrototypeToWellFormed, string, []);
}
