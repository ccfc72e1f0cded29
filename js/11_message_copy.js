// The same-isolate copy of postMessage: a structured clone made by JS, for a receiver in this
// isolate (src/ports: it is kept in the isolate's store until its message is delivered).
//
// It copies what V8's serializer would copy without running any user code: ordinary objects
// whose own enumerable properties are all data properties (src/clone/kind.rs proves it from
// their hidden class), arrays of a fast elements kind without named properties, primitives,
// dates, regexps, boxed primitives, Maps, Sets, ArrayBuffers and views on them. Anything else
// (a getter, a proxy, an error, a platform object, a function, a SharedArrayBuffer, a BigInt,
// nesting deeper than MAX_DEPTH, a message that may be over the size limit) makes it give up before it has read a single property that could run
// code, and the whole message goes through the serializer instead. So the copy is the
// serializer's result or there is none: getters never run twice and no value is copied
// differently in part (tests/copy.rs checks it against structuredClone on random values).
//
// Objects are rebuilt by literals compiled once per key list (`(o, c, s) => ({"a": c(o.a, s,
// "a")})`), so every copy of a shape gets one hidden class and every read is a named load;
// literals define properties, so setters on Object.prototype never run. References to an
// object still being copied (cycles) are patched once the whole copy exists.

import { core } from "v8mc:00_core.js";
import * as kinds from "v8mc:00_tables.js";

const ArrayBufferPrototypeGetByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
const ArrayCtor = Array;
const ArrayFrom = Array.from;
const BooleanCtor = Boolean;
const BooleanPrototypeValueOf = Boolean.prototype.valueOf;
const DataViewCtor = DataView;
const DataViewPrototypeGetBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, "buffer").get;
const DataViewPrototypeGetByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, "byteLength").get;
const DataViewPrototypeGetByteOffset = Object.getOwnPropertyDescriptor(DataView.prototype, "byteOffset").get;
const DateCtor = Date;
const DatePrototypeGetTime = Date.prototype.getTime;
const FunctionCtor = Function;
const JSONStringify = JSON.stringify;
const MapCtor = Map;
const MapPrototypeForEach = Map.prototype.forEach;
const MapPrototypeGet = Map.prototype.get;
const MapPrototypeSet = Map.prototype.set;
const NumberCtor = Number;
const NumberPrototypeValueOf = Number.prototype.valueOf;
const ObjectHasOwn = Object.hasOwn;
const ObjectKeys = Object.keys;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ReflectApply = Reflect.apply;
const ReflectDefineProperty = Reflect.defineProperty;
const RegExpCtor = RegExp;
const SetCtor = Set;
const SetPrototypeAdd = Set.prototype.add;
const SetPrototypeForEach = Set.prototype.forEach;
const StringCtor = String;
const StringPrototypeValueOf = String.prototype.valueOf;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const TypedArrayPrototypeGetBuffer = Object.getOwnPropertyDescriptor(TypedArrayPrototype, "buffer").get;
const TypedArrayPrototypeGetByteOffset = Object.getOwnPropertyDescriptor(TypedArrayPrototype, "byteOffset").get;
const TypedArrayPrototypeGetLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, "length").get;
const TypedArrayPrototypeGetTag = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
const RegExpPrototype = RegExp.prototype;
const regExpSource = Object.getOwnPropertyDescriptor(RegExpPrototype, "source").get;
// The flags in the order of RegExp.prototype.flags; each getter reads the internal flags.
const regExpFlags = [];
for (const [flag, name] of [
  ["d", "hasIndices"], ["g", "global"], ["i", "ignoreCase"], ["m", "multiline"],
  ["s", "dotAll"], ["u", "unicode"], ["v", "unicodeSets"], ["y", "sticky"],
]) {
  const descriptor = Object.getOwnPropertyDescriptor(RegExpPrototype, name);
  if (descriptor !== undefined) regExpFlags[regExpFlags.length] = [flag, descriptor.get];
}
/** The typed array constructors by their Symbol.toStringTag. */
const typedArrays = { __proto__: null };
for (const name of [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
]) {
  if (typeof globalThis[name] === "function") typedArrays[name] = globalThis[name];
}

/** What copyMessage returns when it gives up: the serializer takes the message. */
export const NOT_COPIED = Object.freeze({ __proto__: null });
/** Thrown inside the copy to give up. */
const GIVE_UP = Object.freeze({ __proto__: null });

/** Nesting deeper than this goes to the serializer (the copy recurses on the JS stack). */
const MAX_DEPTH = 256;

// The size limit of a message (RuntimeOptions::max_message_size) is on its serialized form.
// The copy charges each value at least what the serializer would write for it (a tag, varints
// and padding fit in 16 bytes; a string's characters 2 bytes each) and gives up when the limit
// is spent: a copy is made only where the serialized message would be under the limit, and the
// serializer decides the rest, so the limit acts the same with or without the copy.
/** The limit in bytes, written by Rust (src/context/messaging.rs). */
export const messageLimit = new Float64Array(1);
messageLimit[0] = kinds.DEFAULT_MAX_MESSAGE_SIZE;
/** What is left of the limit during a copy. */
let budget = 0;
/** A value's bytes besides its contents, at most. */
const VALUE_COST = 16;
/** Buffers from this size up are copied by Rust (one copy, src/array_buffers.rs). */
const NATIVE_COPY_MIN = 4096;

/** A list for the copy's own bookkeeping: no prototype, so no user code can be reached. */
function newList() {
  return ObjectSetPrototypeOf([], null);
}

// ---------------------------------------------------------------------------------------------
// Identity: every object met so far and its copy, by slot. A copy is UNFINISHED while its
// properties are being copied (its literal is not evaluated yet).

const UNFINISHED = Object.freeze({ __proto__: null });
let originals = newList();
let copies = newList();
let count = 0;
/** Object -> slot, once there are too many for a linear search. */
let slots = null;
const LINEAR_MAX = 24;
/** The `key` of a Map or Set entry. */
const ENTRY = Object.freeze({ __proto__: null });
/** (holder slot, key, target slot) for references to an unfinished copy. */
let fixups = newList();

// @startup
function slotOf(object) {
  if (slots !== null) {
    const slot = ReflectApply(MapPrototypeGet, slots, [object]);
    return slot === undefined ? -1 : slot;
  }
  for (let i = 0; i < count; i++) if (originals[i] === object) return i;
  return -1;
}

// @startup
function addSlot(object) {
  const slot = count++;
  originals[slot] = object;
  copies[slot] = UNFINISHED;
  if (slots !== null) {
    ReflectApply(MapPrototypeSet, slots, [object, slot]);
  } else if (count > LINEAR_MAX) {
    slots = new MapCtor();
    for (let i = 0; i < count; i++) ReflectApply(MapPrototypeSet, slots, [originals[i], i]);
  }
  return slot;
}

// @startup
function finish(slot, copy) {
  copies[slot] = copy;
  return copy;
}

// @startup
function reset() {
  for (let i = 0; i < count; i++) {
    originals[i] = undefined;
    copies[i] = undefined;
  }
  if (count > 4096) {
    originals = newList();
    copies = newList();
  }
  count = 0;
  slots = null;
  if (fixups.length !== 0) fixups = newList();
}

const dataDescriptor = {
  __proto__: null,
  value: undefined,
  writable: true,
  enumerable: true,
  configurable: true,
};

function defineData(object, key, value) {
  dataDescriptor.value = value;
  ReflectDefineProperty(object, key, dataDescriptor);
  dataDescriptor.value = undefined;
}

// ---------------------------------------------------------------------------------------------
// Compiled literals, one per key list of plain objects and per length of small arrays.

const SHAPE_MAX_KEYS = 32;
const SHAPE_MAX_COUNT = 512;
const ARRAY_LITERAL_MAX = 16;
/** False where the embedder disallows code generation from strings: copies go generic. */
let canCompile = true;
let shapeCount = 0;
/** What the keys of the last shape found cost (see `budget`). */
let shapeCost = 0;
/** First key (or "" for none) -> the shapes with that first key. */
const shapes = new MapCtor();
let lastShape = null;
const arrayLiterals = newList();

// @startup
function compile(body) {
  if (!canCompile) return null;
  try {
    return new FunctionCtor(`"use strict"; return ${body};`)();
  } catch {
    canCompile = false;
    return null;
  }
}

// @startup
function sameKeys(a, b) {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

// @startup
/** The compiled copier of objects with exactly `keys`, or null (too many keys or shapes). */
function shapeFor(keys) {
  if (lastShape !== null && sameKeys(keys, lastShape.keys)) {
    shapeCost = lastShape.cost;
    return lastShape.copy;
  }
  if (keys.length > SHAPE_MAX_KEYS) return null;
  const first = keys.length === 0 ? "" : keys[0];
  let list = ReflectApply(MapPrototypeGet, shapes, [first]);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      if (sameKeys(keys, list[i].keys)) {
        lastShape = list[i];
        shapeCost = lastShape.cost;
        return lastShape.copy;
      }
    }
  }
  if (shapeCount >= SHAPE_MAX_COUNT) return null;
  let literal = "(o, c, s, d) => ({";
  for (let i = 0; i < keys.length; i++) {
    const key = JSONStringify(keys[i]);
    // A literal's `__proto__: v` would set the prototype; the computed form defines a property.
    literal += `${keys[i] === "__proto__" ? '["__proto__"]' : key}: c(o[${key}], s, ${key}, d),`;
  }
  const copy = compile(literal + "})");
  if (copy === null) return null;
  shapeCount++;
  const own = newList();
  for (let i = 0; i < keys.length; i++) own[i] = keys[i];
  if (list === undefined) {
    list = newList();
    ReflectApply(MapPrototypeSet, shapes, [first, list]);
  }
  lastShape = { __proto__: null, keys: own, copy, cost: keysCost(keys) };
  list[list.length] = lastShape;
  shapeCost = lastShape.cost;
  return copy;
}

// @startup
/** What a list of property names costs in the serialized form, at most. */
function keysCost(keys) {
  let cost = 0;
  for (let i = 0; i < keys.length; i++) cost += VALUE_COST + 2 * keys[i].length;
  return cost;
}

// @startup
function arrayLiteral(n) {
  let literal = arrayLiterals[n];
  if (literal === undefined) {
    let body = "(a, c, s, d) => [";
    for (let i = 0; i < n; i++) body += `c(a[${i}], s, ${i}, d),`;
    literal = compile(body + "]");
    arrayLiterals[n] = literal;
  }
  return literal;
}

// ---------------------------------------------------------------------------------------------
// The copy.

// @startup
/** The copy of `value`, found at `key` of the object in slot `holder`. */
function copyValue(value, holder, key, depth) {
  // Comparisons of typeof (not a switch on it) compile to type checks.
  if (typeof value === "object") {
    return value === null ? null : copyObject(value, holder, key, depth);
  }
  if (typeof value === "string") {
    budget -= VALUE_COST + 2 * value.length;
    if (budget < 0) throw GIVE_UP;
    return value;
  }
  // A BigInt's size is not known without reading it: the serializer takes it.
  if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    throw GIVE_UP;
  }
  budget -= VALUE_COST;
  return value;
}

// @startup
function copyObject(object, holder, key, depth) {
  // The object itself, or a reference to it.
  budget -= VALUE_COST;
  if (budget < 0) throw GIVE_UP;
  const seen = slotOf(object);
  if (seen !== -1) {
    const copy = copies[seen];
    if (copy !== UNFINISHED) return copy;
    // A Map or Set entry cannot be patched later (an entry's place is its insertion order).
    if (key === ENTRY) throw GIVE_UP;
    // An object still being copied: its copy goes in once it exists.
    fixups[fixups.length] = holder;
    fixups[fixups.length] = key;
    fixups[fixups.length] = seen;
    return undefined;
  }
  if (depth >= MAX_DEPTH) throw GIVE_UP;
  let kind = core.cloneKind(object);
  // A hidden class met for the first time: Rust proves it has no accessors (once).
  if (kind === kinds.CLONE_UNKNOWN) kind = core.cloneKindOf(object);
  if (kind === kinds.CLONE_PLAIN) {
    const keys = ObjectKeys(object);
    const slot = addSlot(object);
    const copier = shapeFor(keys);
    budget -= copier !== null ? shapeCost : keysCost(keys);
    return finish(slot, copier !== null
      ? copier(object, copyValue, slot, depth + 1)
      : copyGeneric(object, keys, slot, depth + 1));
  }
  if (kind === kinds.CLONE_PACKED_ARRAY) return copyPacked(object, depth + 1);
  if (kind === kinds.CLONE_HOLEY_ARRAY) return copyHoley(object, depth + 1);
  if (kind === kinds.CLONE_GIVE_UP) throw GIVE_UP;
  return copyBuiltin(object, kind, depth + 1);
}

/** An object of a shape without a compiled copier: defined property by property. */
function copyGeneric(object, keys, slot, depth) {
  const copy = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    defineData(copy, key, copyValue(object[key], slot, key, depth));
  }
  return copy;
}

// @startup
/** An array of a packed elements kind: every index below its length is its own data. */
function copyPacked(array, depth) {
  const slot = addSlot(array);
  const n = array.length;
  budget -= VALUE_COST * n;
  const literal = n <= ARRAY_LITERAL_MAX ? arrayLiteral(n) : null;
  if (literal !== null) return finish(slot, literal(array, copyValue, slot, depth));
  return finish(
    slot,
    ReflectApply(ArrayFrom, ArrayCtor, [
      { __proto__: null, length: n },
      (_, i) => copyValue(array[i], slot, i, depth),
    ]),
  );
}

/** An array of a holey elements kind: its own indices are data, the rest are holes. */
function copyHoley(array, depth) {
  const slot = addSlot(array);
  const n = array.length;
  budget -= VALUE_COST * n;
  const copy = new ArrayCtor(n);
  for (let i = 0; i < n; i++) {
    if (ObjectHasOwn(array, i)) defineData(copy, i, copyValue(array[i], slot, i, depth));
  }
  return finish(slot, copy);
}

/** A copy of a buffer's bytes (the caller checked it is neither shared nor resizable). */
function copyBuffer(buffer) {
  budget -= VALUE_COST + ReflectApply(ArrayBufferPrototypeGetByteLength, buffer, []);
  if (budget < 0) throw GIVE_UP;
  const slot = addSlot(buffer);
  return finish(slot, core.copyBuffer(buffer));
}

/** Builtins the serializer copies from their internal slots. */
function copyBuiltin(object, kind, depth) {
  switch (kind) {
    case kinds.CLONE_DATE:
      return finish(addSlot(object), new DateCtor(ReflectApply(DatePrototypeGetTime, object, [])));
    case kinds.CLONE_REGEXP: {
      let flags = "";
      for (let i = 0; i < regExpFlags.length; i++) {
        if (ReflectApply(regExpFlags[i][1], object, [])) flags += regExpFlags[i][0];
      }
      const source = ReflectApply(regExpSource, object, []);
      budget -= 2 * source.length;
      return finish(addSlot(object), new RegExpCtor(source, flags));
    }
    case kinds.CLONE_NUMBER_OBJECT:
      return finish(addSlot(object), new NumberCtor(ReflectApply(NumberPrototypeValueOf, object, [])));
    case kinds.CLONE_STRING_OBJECT: {
      const string = ReflectApply(StringPrototypeValueOf, object, []);
      budget -= 2 * string.length;
      if (budget < 0) throw GIVE_UP;
      return finish(addSlot(object), new StringCtor(string));
    }
    case kinds.CLONE_BOOLEAN_OBJECT:
      return finish(addSlot(object), new BooleanCtor(ReflectApply(BooleanPrototypeValueOf, object, [])));
    case kinds.CLONE_BIGINT_OBJECT:
      // As a BigInt primitive: its size is not known without reading it.
      throw GIVE_UP;
    case kinds.CLONE_MAP: {
      // As the serializer: the entries as they are now, then each copied.
      const entries = newList();
      ReflectApply(MapPrototypeForEach, object, [(v, k) => {
        entries[entries.length] = k;
        entries[entries.length] = v;
      }]);
      // The copy exists before its entries, which may hold it.
      const slot = addSlot(object);
      const copy = finish(slot, new MapCtor());
      for (let i = 0; i < entries.length; i += 2) {
        const k = copyValue(entries[i], slot, ENTRY, depth);
        const v = copyValue(entries[i + 1], slot, ENTRY, depth);
        ReflectApply(MapPrototypeSet, copy, [k, v]);
      }
      return copy;
    }
    case kinds.CLONE_SET: {
      const entries = newList();
      ReflectApply(SetPrototypeForEach, object, [(v) => {
        entries[entries.length] = v;
      }]);
      const slot = addSlot(object);
      const copy = finish(slot, new SetCtor());
      for (let i = 0; i < entries.length; i++) {
        ReflectApply(SetPrototypeAdd, copy, [copyValue(entries[i], slot, ENTRY, depth)]);
      }
      return copy;
    }
    case kinds.CLONE_ARRAY_BUFFER:
      return copyBuffer(object);
    case kinds.CLONE_TYPED_ARRAY: {
      budget -= VALUE_COST;
      const buffer = ReflectApply(TypedArrayPrototypeGetBuffer, object, []);
      const seen = slotOf(buffer);
      const copiedBuffer = seen !== -1 ? copies[seen] : copyBuffer(buffer);
      const Ctor = typedArrays[ReflectApply(TypedArrayPrototypeGetTag, object, [])];
      if (Ctor === undefined) throw GIVE_UP;
      const offset = ReflectApply(TypedArrayPrototypeGetByteOffset, object, []);
      const length = ReflectApply(TypedArrayPrototypeGetLength, object, []);
      return finish(addSlot(object), new Ctor(copiedBuffer, offset, length));
    }
    case kinds.CLONE_DATA_VIEW: {
      budget -= VALUE_COST;
      const buffer = ReflectApply(DataViewPrototypeGetBuffer, object, []);
      const seen = slotOf(buffer);
      const copiedBuffer = seen !== -1 ? copies[seen] : copyBuffer(buffer);
      const offset = ReflectApply(DataViewPrototypeGetByteOffset, object, []);
      const length = ReflectApply(DataViewPrototypeGetByteLength, object, []);
      return finish(addSlot(object), new DataViewCtor(copiedBuffer, offset, length));
    }
    default:
      throw GIVE_UP;
  }
}

// @startup
/**
 * A structured clone of `message` made without running any user code, or NOT_COPIED when the
 * serializer must make it (nothing observable happened then).
 */
export function copyMessage(message) {
  // The header, and the value's own bytes below.
  budget = messageLimit[0] - VALUE_COST;
  if (typeof message !== "object" || message === null) {
    if (typeof message === "string") {
      return VALUE_COST + 2 * message.length <= budget ? message : NOT_COPIED;
    }
    const plain = typeof message !== "function" && typeof message !== "symbol" &&
      typeof message !== "bigint";
    return plain ? message : NOT_COPIED;
  }
  try {
    const copy = copyObject(message, -1, undefined, 0);
    if (budget < 0) return NOT_COPIED;
    for (let i = 0; i < fixups.length; i += 3) {
      defineData(copies[fixups[i]], fixups[i + 1], copies[fixups[i + 2]]);
    }
    return copy;
  } catch (error) {
    if (error === GIVE_UP) return NOT_COPIED;
    // Out of memory or stack inside the copy: let the serializer say what it says.
    return NOT_COPIED;
  } finally {
    reset();
  }
}
