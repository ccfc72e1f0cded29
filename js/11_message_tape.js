// The message tape: postMessage's copy of plain data, kept on the JS heap.
//
// Ports of a channel live in one isolate, so a message made of plain objects, arrays and
// primitives does not need V8's ValueSerializer (whose per-message set-up is most of the cost of
// a small message): the sender writes the message's structure and primitives onto the receiving
// port's tape (a queue of array chunks), and the receiver rebuilds it from there. Primitives are
// immutable, so they are stored as they are. Objects are written by a reader and rebuilt by a
// factory, both compiled once per key list (`() => ({"a": d(), "b": d()})`), so every copy gets
// the same hidden class and every read is a named load.
//
// The copy follows the serializer's steps exactly: own enumerable string keys in order, each
// read once (getters run where V8 would run them), depth first, holes kept, shared objects and
// cycles kept. What the tape cannot copy itself goes elsewhere:
// - values V8 copies from internal slots (dates, regexps, boxed primitives, buffers and views)
//   go to a side list that Rust serializes in one call, so identity among them is kept;
// - anything else (Map, Set, errors, class instances, proxies, platform objects, values nested
//   deeper than MAX_DEPTH) makes the whole message go through the serializer instead, when no
//   getter has run yet; after a getter ran (the serializer would run it again) such values go
//   to the side list too. A root shape that made the tape give up skips it for a while;
// - functions and symbols throw the serializer's own DataCloneError.
// Rust keeps one marker per tape message in the port's queue, so tape messages and serialized
// ones are delivered in the order they were posted (src/messaging).

import { core } from "v8mc:00_core.js";

const ArrayCtor = Array;
const ArrayFrom = Array.from;
const ArrayPrototypeSlice = Array.prototype.slice;
const FunctionCtor = Function;
const JSONStringify = JSON.stringify;
const MapCtor = Map;
const MapPrototypeGet = Map.prototype.get;
const MapPrototypeSet = Map.prototype.set;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectHasOwn = Object.hasOwn;
const ObjectKeys = Object.keys;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ReflectApply = Reflect.apply;
const ReflectDefineProperty = Reflect.defineProperty;
const ReflectDeleteProperty = Reflect.deleteProperty;
const ReflectOwnKeys = Reflect.ownKeys;

// @startup
/**
 * `list` (or nothing) copied into a list twice as long whose elements all exist, so writes and
 * reads stay in own elements: the lists written for every object (the encoder's slots, the
 * decoder's) must be fast, and null-prototype arrays are not (V8 stores into them through its
 * generic path, 2.3x slower, measured).
 */
function withRoom(list) {
  const bigger = core.newChunk(list === null ? 64 : list.length * 2);
  if (list !== null) for (let i = 0; i < list.length; i++) bigger[i] = list[i];
  return bigger;
}

/** Slot lists longer than this are dropped after the message instead of cleared. */
const LIST_KEEP = 4096;

// @startup
/** Lets go of what `list` holds from `from` up to `to` (elements stay, as `undefined`). */
function clearRange(list, from, to) {
  for (let i = from; i < to; i++) list[i] = undefined;
}

// @startup
/** A slot list after a message: cleared for the next one, or null once it grew too long. */
function emptied(list, count) {
  if (count > LIST_KEEP) return null;
  clearRange(list, 0, count);
  return list;
}

/**
 * An array for the tape's own bookkeeping. Writing an index an array does not have yet (or
 * reading a hole) consults its prototype chain, where a script may have put accessors; with no
 * prototype, no user code can run inside the tape.
 */
function newList(array = []) {
  return ObjectSetPrototypeOf(array, null);
}

// src/clone_kind.rs
const OTHER = 0;
const PLAIN = 1;
const ARRAY = 2;
const LEAF = 3;
const PACKED_ARRAY = 4;

// Tape entries. A message is its root value and, when cycles or deleted properties need
// patching, FIXUPS with (holder slot, key, target slot) triples. Objects and arrays get slots in
// the order they are first met, the same on both sides. User values on the tape are always
// primitives, so any object entry is one of these markers and any function entry is an object
// factory.
const K_OBJECT = 1; // n, then n (key, value) pairs: objects without a factory
const K_PACKED = 2; // n (in the marker when small, else the next entry), then n values
const K_HOLEY = 3; // n as for K_PACKED, then n values or HOLE
const K_HOLE = 4;
const K_REF = 5; // slot of an object already rebuilt
const K_CYCLE = 6; // an ancestor: undefined now, patched by a fixup
const K_SIDE = 7; // index into the side list
const K_MISSING = 8; // a key a getter deleted: removed by a fixup
const K_FIXUPS = 9; // count, then the triples
const K_BAIL = 10;
const marker = (kind, n = -1) => Object.freeze({ __proto__: null, kind, n });
const OBJECT = marker(K_OBJECT);
const PACKED = marker(K_PACKED);
const HOLEY = marker(K_HOLEY);
const HOLE = marker(K_HOLE);
const REF = marker(K_REF);
const CYCLE = marker(K_CYCLE);
const SIDE = marker(K_SIDE);
const MISSING = marker(K_MISSING);
const FIXUPS = marker(K_FIXUPS);
/** Arrays up to this length carry it in their marker. */
const SMALL_ARRAY = 16;
const PACKED_SMALL = [];
const HOLEY_SMALL = [];
for (let n = 0; n <= SMALL_ARRAY; n++) {
  PACKED_SMALL[n] = marker(K_PACKED, n);
  HOLEY_SMALL[n] = marker(K_HOLEY, n);
}

/** Thrown inside the encoder to hand the message to the serializer instead. */
const BAIL = marker(K_BAIL);
/** What encodeMessage returns when the message must go through the serializer. */
export const SERIALIZE = BAIL;

// A tape is a queue of chunks: preallocated arrays, growing from CHUNK_MIN to CHUNK_MAX entries,
// so a long queue costs its entries and nothing more (no growing array copied over and over),
// and a chunk is let go as soon as it has been read.
const CHUNK_MIN = 64;
const CHUNK_MAX = 32768;
/** The largest chunk an emptied tape keeps for its next messages. */
const CHUNK_KEEP = 1024;

// @startup
/** A port's incoming tape. */
export function newTape() {
  return {
    chunks: newList(),
    /** Index in `chunks` of the chunk being read. */
    head: 0,
    /** Position in the chunk being read. */
    read: 0,
    /** Position in the last chunk, the one being written. */
    write: 0,
    /** Where the last message written starts (chunk list, count and position), to take it back. */
    markList: null,
    markChunks: 0,
    markWrite: 0,
  };
}

// @startup
/** Forgets every message on `tape` (its port closed, so Rust dropped their markers). */
export function clearTape(tape) {
  tape.chunks = newList();
  tape.head = 0;
  tape.read = 0;
  tape.write = 0;
}

// ---------------------------------------------------------------------------------------------
// Object factories, one per key list, compiled once.

const FACTORY_MAX_KEYS = 32;
const FACTORY_MAX_COUNT = 512;
const ARRAY_FACTORY_MAX = 16;
/** False where the embedder disallows code generation from strings: objects go generic. */
let canCompile = true;
let factoryCount = 0;
/** First key (or "" for none) -> the shapes with that first key. */
const factories = new MapCtor();
let lastShape = null;
const arrayFactories = newList();

// @startup
function sameKeys(a, b) {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

// @startup
function compile(body) {
  if (!canCompile) return null;
  try {
    return new FunctionCtor("d", "H", "V", "M", `"use strict"; return ${body};`)(
      decodeValue,
      ObjectHasOwn,
      encodeValue,
      encodeMissing,
    );
  } catch {
    canCompile = false;
    return null;
  }
}

// @startup
/**
 * What the tape knows of objects with one key list: `factory` rebuilds one, `reader` writes
 * one's values with the keys as constants (named loads, monomorphic per key list, where
 * `object[key]` in a loop goes megamorphic).
 */
function newShape(keys, factory, reader) {
  return { __proto__: null, keys, factory, reader, bails: 0, skip: 0 };
}

/**
 * Messages whose root has a shape that last made the tape give up (a Map or a class instance
 * somewhere inside) go straight to the serializer: giving up costs the walk so far, and the next
 * message of that shape is likely the same. Every RETRY_AFTER-th such message tries the tape
 * again. Deciding this reads no property, so it changes nothing but the time.
 */
const RETRY_AFTER = 64;
/** The shape of the root of the message being encoded, if it has one. */
let rootShape = null;

// @startup
/**
 * The shape for objects with exactly `keys`, or null (too many keys or shapes). The last one is
 * the likely one (a stream of messages of one shape).
 */
function shapeFor(keys) {
  if (lastShape !== null && sameKeys(keys, lastShape.keys)) return lastShape;
  if (keys.length > FACTORY_MAX_KEYS) return null;
  const first = keys.length === 0 ? "" : keys[0];
  let list = ReflectApply(MapPrototypeGet, factories, [first]);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      if (sameKeys(keys, list[i].keys)) {
        lastShape = list[i];
        return lastShape;
      }
    }
  }
  if (factoryCount >= FACTORY_MAX_COUNT) return null;
  let literal = "() => ({";
  let reads = "(o, s) => {";
  for (let i = 0; i < keys.length; i++) {
    const key = JSONStringify(keys[i]);
    // A literal's `__proto__: v` would set the prototype; the computed form defines a property.
    literal += (keys[i] === "__proto__" ? '["__proto__"]' : key) + ": d(),";
    // As the serializer: a property a getter deleted meanwhile is left out. The first key was
    // just listed, and no user code has run since.
    if (i === 0) reads += `V(o[${key}], s, ${key});`;
    else reads += `if (H(o, ${key})) V(o[${key}], s, ${key}); else M(s, ${key});`;
  }
  const factory = compile(literal + "})");
  const reader = factory === null ? null : compile(reads + "}");
  if (reader === null) return null;
  factoryCount++;
  const copy = newList();
  for (let i = 0; i < keys.length; i++) copy[i] = keys[i];
  if (list === undefined) {
    list = newList();
    ReflectApply(MapPrototypeSet, factories, [first, list]);
  }
  lastShape = newShape(copy, factory, reader);
  list[list.length] = lastShape;
  return lastShape;
}

// @startup
function arrayFactory(n) {
  let factory = arrayFactories[n];
  if (factory === undefined) {
    let body = "() => [";
    for (let i = 0; i < n; i++) body += "d(),";
    factory = compile(body + "]");
    arrayFactories[n] = factory;
  }
  return factory;
}

// ---------------------------------------------------------------------------------------------
// Encoder. Its state is module-wide: one message is encoded at a time (`busy`; a getter that
// posts meanwhile goes through the serializer).

let busy = false;
/** The tape being written, its last chunk and the position in it. */
let writing = null;
let chunk = null;
let at = 0;

// @startup
function put(entry) {
  if (at === chunk.length) nextChunk();
  chunk[at++] = entry;
}

/** The "last chunk" of a tape that has none: full at once, so the first put makes one. */
const NO_CHUNK = newList();

// @startup
function nextChunk() {
  const size = chunk.length === 0 ? CHUNK_MIN : chunk.length * 2;
  // Holes would make writes and reads look at the prototype: every element is there already.
  chunk = core.newChunk(size < CHUNK_MAX ? size : CHUNK_MAX);
  const chunks = writing.chunks;
  chunks[chunks.length] = chunk;
  at = 0;
}
/** Objects and arrays met so far (the first `seenCount`); an object's index is its slot. */
let seen = null;
/** Whether the object in each slot is still being written (a reference to it is a cycle). */
let open = null;
let seenCount = 0;
/** Object -> slot, once `seen` is too long for a linear search. */
let seenMap = null;
const SEEN_LINEAR_MAX = 24;
let side = newList();
let fixups = newList();
/** Set once a value had to go to the side list after getters may have run. */
let sideMode = false;
/** Objects and arrays being written, one inside the other. */
let depth = 0;
const MAX_DEPTH = 256;

// @startup
function slotOf(object) {
  if (seenMap !== null) {
    const slot = ReflectApply(MapPrototypeGet, seenMap, [object]);
    return slot === undefined ? -1 : slot;
  }
  for (let i = 0; i < seenCount; i++) if (seen[i] === object) return i;
  return -1;
}

// @startup
function addSeen(object) {
  const slot = seenCount++;
  if (seen === null || slot === seen.length) {
    seen = withRoom(seen);
    open = withRoom(open);
  }
  seen[slot] = object;
  open[slot] = true;
  if (seenMap !== null) {
    ReflectApply(MapPrototypeSet, seenMap, [object, slot]);
  } else if (slot === SEEN_LINEAR_MAX) {
    seenMap = new MapCtor();
    for (let i = 0; i <= slot; i++) ReflectApply(MapPrototypeSet, seenMap, [seen[i], i]);
  }
  return slot;
}

// @startup
/** Lets go of the objects of the last message (the arrays stay, for the next one). */
function forgetSeen() {
  seenMap = null;
  seen = emptied(seen, seenCount);
  if (seen === null) open = null;
  seenCount = 0;
}

/** Whether any object read so far has an own accessor, i.e. whether user code may have run. */
function gettersMayHaveRun() {
  for (let i = 0; i < seenCount; i++) {
    const object = seen[i];
    const keys = ReflectOwnKeys(object);
    for (let j = 0; j < keys.length; j++) {
      const descriptor = ObjectGetOwnPropertyDescriptor(object, keys[j]);
      if (descriptor !== undefined && ObjectHasOwn(descriptor, "get")) return true;
    }
  }
  return false;
}

// @startup
function encodeValue(value, holder, key) {
  // Comparisons of typeof (not a switch on it) compile to type checks.
  if (typeof value === "object") {
    if (value === null) put(value);
    else encodeObject(value, holder, key);
  } else if (typeof value === "function" || typeof value === "symbol") {
    // The serializer's own DataCloneError, at the point where it would throw it.
    core.structuredClone(value);
    throw BAIL;
  } else {
    put(value);
  }
}

// @startup
function encodeObject(value, holder, key) {
  const slot = slotOf(value);
  if (slot !== -1) {
    if (open[slot]) {
      put(CYCLE);
      fixups[fixups.length] = holder;
      fixups[fixups.length] = key;
      fixups[fixups.length] = slot;
    } else {
      put(REF);
      put(slot);
    }
    return;
  }
  // Past MAX_DEPTH a value is treated as one the tape does not copy: the decoder recurses as
  // the encoder does, and must not run out of stack where the encoder did not.
  const kind = depth < MAX_DEPTH ? core.cloneKind(value) : OTHER;
  if (kind === PLAIN) {
    const keys = ObjectKeys(value);
    depth++;
    encodePlain(value, keys, shapeFor(keys));
    depth--;
  } else if (kind === ARRAY || kind === PACKED_ARRAY) {
    depth++;
    encodeArray(value, kind === PACKED_ARRAY);
    depth--;
  } else {
    if (kind !== LEAF && !sideMode) {
      if (!gettersMayHaveRun()) throw BAIL;
      sideMode = true;
    }
    put(SIDE);
    put(side.length);
    side[side.length] = value;
  }
}

// @startup
/** Writes a plain object; `keys` are its own enumerable string keys (listing them runs no user
 * code: cloneKind said it is no proxy), `shape` their shape or null. */
function encodePlain(object, keys, shape) {
  const slot = addSeen(object);
  if (shape !== null) {
    put(shape.factory);
    shape.reader(object, slot);
  } else {
    const n = keys.length;
    put(OBJECT);
    put(n);
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      put(key);
      // As the serializer: a property a getter deleted meanwhile is left out.
      if (ObjectHasOwn(object, key)) encodeValue(object[key], slot, key);
      else encodeMissing(slot, key);
    }
  }
  open[slot] = false;
}

/** A key a getter deleted before it was read: a placeholder, removed after rebuilding. */
function encodeMissing(slot, key) {
  put(MISSING);
  fixups[fixups.length] = slot;
  fixups[fixups.length] = key;
  fixups[fixups.length] = -1;
}

// @startup
/**
 * Writes an array. `packed`: cloneKind said its elements kind is packed, so every index below
 * its length is its own until user code runs, which only the encoding of an object element can
 * lead to (a getter inside it may delete elements here).
 */
function encodeArray(array, packed) {
  const slot = addSeen(array);
  const n = array.length;
  const small = n <= SMALL_ARRAY;
  put(small ? PACKED_SMALL[n] : PACKED);
  const markerChunk = chunk;
  const markerAt = at - 1;
  if (!small) put(n);
  for (let i = 0; i < n; i++) {
    // As the serializer: an index that is not an own property is a hole (no prototype lookup).
    if (!packed && !ObjectHasOwn(array, i)) {
      markerChunk[markerAt] = small ? HOLEY_SMALL[n] : HOLEY;
      put(HOLE);
      continue;
    }
    const value = array[i];
    if (typeof value === "object" && value !== null) packed = false;
    encodeValue(value, slot, i);
  }
  open[slot] = false;
}

// @startup
/**
 * Writes `message` onto `tape` (the receiving port's). Returns undefined, or the side list for
 * the serializer, or SERIALIZE when the message must go through the serializer instead (nothing
 * was written then). Throws what the serializer would throw (a DataCloneError or a getter's
 * exception), with nothing written. `unwriteLast` takes the message back.
 */
export function encodeMessage(message, tape) {
  if (busy) return BAIL;
  busy = true;
  writing = tape;
  const chunks = tape.chunks;
  chunk = chunks.length === 0 ? NO_CHUNK : chunks[chunks.length - 1];
  at = tape.write;
  tape.markList = chunks;
  tape.markChunks = chunks.length;
  tape.markWrite = at;
  try {
    // The root: only a plain object or an array. A primitive, or a buffer, view or date on its
    // own, is left to Rust (src/clone.rs copies large buffers once), and so is a root whose
    // shape is being skipped (see RETRY_AFTER).
    const kind = core.cloneKind(message);
    if (kind === PLAIN) {
      const keys = ObjectKeys(message);
      const shape = shapeFor(keys);
      if (shape !== null && shape.skip > 0) {
        shape.skip--;
        return BAIL;
      }
      rootShape = shape;
      encodePlain(message, keys, shape);
    } else if (kind === ARRAY || kind === PACKED_ARRAY) {
      encodeArray(message, kind === PACKED_ARRAY);
    } else {
      return BAIL;
    }
    if (fixups.length !== 0) {
      put(FIXUPS);
      put(fixups.length);
      for (let i = 0; i < fixups.length; i++) put(fixups[i]);
    }
    tape.write = at;
    if (rootShape !== null) rootShape.bails = 0;
    if (side.length === 0) return undefined;
    const list = side;
    side = newList();
    return list;
  } catch (error) {
    unwriteLast(tape);
    if (error === BAIL) {
      if (rootShape !== null) {
        rootShape.bails++;
        rootShape.skip = rootShape.bails < RETRY_AFTER ? rootShape.bails : RETRY_AFTER;
      }
      return BAIL;
    }
    throw error;
  } finally {
    depth = 0;
    rootShape = null;
    forgetSeen();
    if (side.length !== 0) side = newList();
    if (fixups.length !== 0) fixups = newList();
    sideMode = false;
    writing = null;
    chunk = null;
    busy = false;
  }
}

/** Takes the message `encodeMessage` wrote last off `tape` (it was not sent). */
export function unwriteLast(tape) {
  const chunks = tape.chunks;
  if (chunks !== tape.markList) {
    // The tape was cleared while the message was written (a getter closed the port).
    clearTape(tape);
    return;
  }
  const count = tape.markChunks;
  if (count !== 0) {
    const last = chunks[count - 1];
    clearRange(last, tape.markWrite, last.length);
  }
  chunks.length = count;
  tape.write = tape.markWrite;
}

// ---------------------------------------------------------------------------------------------
// Decoder. Runs no user code: objects come from literals and arrays from literals or
// Array.from over a null-prototype array-like, which define properties instead of setting them.

/** The tape being read, its chunk being read and the position in it. */
let reading = null;
let readChunk = null;
let position = 0;
let sideValues = undefined;
/** Every object and array rebuilt for the current message, by slot. */
let slots = null;
let slotCount = 0;

// @startup
/**
 * The next slot, with room for it. Slots follow first meeting (pre-order), so an object's is
 * taken before its properties are rebuilt: `rebuilt(nextSlot(), build())`.
 */
function nextSlot() {
  const slot = slotCount++;
  if (slots === null || slot === slots.length) slots = withRoom(slots);
  return slot;
}

// @startup
function rebuilt(slot, value) {
  slots[slot] = value;
  return value;
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

// @startup
function take() {
  if (position === readChunk.length) {
    // On to the next chunk; the one read is let go.
    const chunks = reading.chunks;
    chunks[reading.head++] = undefined;
    readChunk = chunks[reading.head];
    position = 0;
  }
  return readChunk[position++];
}

// @startup
function decodeValue() {
  const entry = take();
  if (typeof entry === "function") return rebuilt(nextSlot(), entry());
  if (typeof entry !== "object" || entry === null) return entry;
  return decodeMarked(entry);
}

// @startup
function decodeMarked(entry) {
  switch (entry.kind) {
    case K_PACKED: {
      const n = entry.n === -1 ? take() : entry.n;
      const factory = n <= ARRAY_FACTORY_MAX ? arrayFactory(n) : null;
      return rebuilt(
        nextSlot(),
        factory !== null
          ? factory()
          : ReflectApply(ArrayFrom, ArrayCtor, [{ __proto__: null, length: n }, decodeValue]),
      );
    }
    case K_HOLEY: {
      const n = entry.n === -1 ? take() : entry.n;
      const slot = nextSlot();
      const array = new ArrayCtor(n);
      for (let i = 0; i < n; i++) {
        const value = decodeValue();
        if (value !== HOLE) defineData(array, i, value);
      }
      return rebuilt(slot, array);
    }
    case K_OBJECT: {
      const n = take();
      const slot = nextSlot();
      const object = {};
      for (let i = 0; i < n; i++) {
        const key = take();
        defineData(object, key, decodeValue());
      }
      return rebuilt(slot, object);
    }
    case K_REF:
      return slots[take()];
    case K_SIDE: {
      const index = take();
      return sideValues === undefined ? undefined : sideValues[index];
    }
    case K_HOLE:
      return HOLE;
    default:
      // K_CYCLE and K_MISSING: a placeholder the fixups replace or remove.
      return undefined;
  }
}

// @startup
/** Takes the next message off `incoming` and rebuilds it, with `side` from the serializer. */
export function decodeMessage(incoming, side) {
  reading = incoming;
  readChunk = incoming.chunks[incoming.head];
  position = incoming.read;
  sideValues = side;
  let value;
  try {
    value = decodeValue();
    if (peekFixups()) {
      take();
      const count = take();
      for (let i = 0; i < count; i += 3) {
        const holder = slots[take()];
        const key = take();
        const target = take();
        if (target === -1) ReflectDeleteProperty(holder, key);
        else defineData(holder, key, slots[target]);
      }
    }
  } finally {
    finishRead(incoming);
    reading = null;
    readChunk = null;
    sideValues = undefined;
    slots = emptied(slots, slotCount);
    slotCount = 0;
  }
  return value;
}

// @startup
function peekFixups() {
  if (position < readChunk.length) return readChunk[position] === FIXUPS;
  const next = reading.chunks[reading.head + 1];
  return next !== undefined && next[0] === FIXUPS;
}

// @startup
/** Stores the read position; once everything is read, the tape starts over in its last chunk. */
function finishRead(incoming) {
  const chunks = incoming.chunks;
  if (incoming.head === chunks.length - 1 && position === incoming.write) {
    if (readChunk.length > CHUNK_KEEP) {
      // A burst is over: an idle port does not keep a large chunk.
      clearTape(incoming);
      return;
    }
    clearRange(readChunk, 0, position);
    if (incoming.head !== 0) {
      incoming.chunks = newList([readChunk]);
      incoming.head = 0;
    }
    incoming.read = 0;
    incoming.write = 0;
    return;
  }
  incoming.read = position;
  if (incoming.head > 32) {
    incoming.chunks = newList(ReflectApply(ArrayPrototypeSlice, chunks, [incoming.head]));
    incoming.head = 0;
  }
}
