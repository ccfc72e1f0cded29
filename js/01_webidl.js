// WebIDL helpers: argument checks, conversions and the interface shape (enumerable members,
// Symbol.toStringTag, illegal constructors). https://webidl.spec.whatwg.org/

import {
  ObjectFreeze,
  SymbolCtor,
  TypeErrorCtor,
  toWellFormed,
} from "v8mc:00_primordials.js";

/** Passed to internal constructors so that `new X()` from user code can be refused. */
export const illegalConstructorKey = SymbolCtor("illegalConstructorKey");

export function illegalConstructor() {
  return new TypeErrorCtor("Illegal constructor");
}

// @startup
export function requiredArguments(length, required, prefix) {
  if (length < required) {
    const plural = required === 1 ? "" : "s";
    throw new TypeErrorCtor(
      `${prefix}: ${required} argument${plural} required, but only ${length} present.`,
    );
  }
}

// @startup
/** https://webidl.spec.whatwg.org/#es-DOMString (symbols throw a TypeError). */
export function toDOMString(value) {
  if (typeof value === "symbol") {
    throw new TypeErrorCtor("Cannot convert a Symbol value to a string");
  }
  return `${value}`;
}

/** https://webidl.spec.whatwg.org/#es-USVString */
export function toUSVString(value) {
  return toWellFormed(toDOMString(value));
}

/** The dictionary that null and undefined convert to. */
const EMPTY_DICTIONARY = ObjectFreeze({ __proto__: null });

// @startup
/**
 * https://webidl.spec.whatwg.org/#es-dictionary: null and undefined mean an empty one, which
 * has no prototype (reading its members must not reach a polluted Object.prototype).
 */
export function toDictionary(value, prefix) {
  if (value === undefined || value === null) return EMPTY_DICTIONARY;
  if (typeof value !== "object" && typeof value !== "function") {
    throw new TypeErrorCtor(`${prefix}: the options argument is not an object.`);
  }
  return value;
}

/**
 * Gives a class the shape WebIDL asks for: prototype members enumerable, a
 * Symbol.toStringTag, and constants on both the interface and the prototype.
 */
export function configureInterface(cls, constants = {}) {
  const proto = cls.prototype;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === "constructor" || typeof key === "symbol") continue;
    const desc = Reflect.getOwnPropertyDescriptor(proto, key);
    desc.enumerable = true;
    Reflect.defineProperty(proto, key, desc);
  }
  for (const key of Reflect.ownKeys(cls)) {
    if (key === "prototype" || key === "length" || key === "name") continue;
    const desc = Reflect.getOwnPropertyDescriptor(cls, key);
    if (typeof desc.value === "function" || desc.get) {
      desc.enumerable = true;
      Reflect.defineProperty(cls, key, desc);
    }
  }
  for (const [name, value] of Object.entries(constants)) {
    const desc = { value, enumerable: true, writable: false, configurable: false };
    Reflect.defineProperty(cls, name, desc);
    Reflect.defineProperty(proto, name, desc);
  }
  Reflect.defineProperty(proto, Symbol.toStringTag, {
    value: cls.name,
    configurable: true,
  });
}

/** A TypeError for a method or accessor called on an object of the wrong interface. */
export function illegalInvocation() {
  return new TypeErrorCtor("Illegal invocation");
}
