// console: https://console.spec.whatwg.org/ with Node/Deno-style formatting of values, written
// to the runtime's stdout (log, info, debug) or stderr (error, warn, trace).
//
// Formatting looks at user values, so it reads their own properties and descriptors; it does
// not call methods a script can replace (js/00_primordials.js), and what kind of object a value
// is comes from V8 (`core.valueKind`), not from `instanceof`.

import { core } from "v8mc:00_core.js";
import {
  VALUE_ARRAY,
  VALUE_ARRAY_BUFFER,
  VALUE_DATE,
  VALUE_ERROR,
  VALUE_MAP,
  VALUE_PROMISE,
  VALUE_PROXY,
  VALUE_REGEXP,
  VALUE_SET,
  VALUE_TYPED_ARRAY,
  VALUE_WEAK_MAP,
  VALUE_WEAK_SET,
} from "v8mc:00_tables.js";
import {
  ErrorCtor,
  JSONStringify,
  listPush,
  MathMin,
  MathTrunc,
  newList,
  NumberCtor,
  ObjectGetPrototypeOf,
  ReflectApply,
  ReflectDefineProperty,
  ReflectGetOwnPropertyDescriptor,
  ReflectOwnKeys,
  SafeMap,
  SymbolToStringTag,
} from "v8mc:00_primordials.js";

const MAX_DEPTH = 2;
const MAX_ITEMS = 100;

const ArrayBufferPrototypeGetByteLength = ReflectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
const DatePrototypeGetTime = Date.prototype.getTime;
const DatePrototypeToISOString = Date.prototype.toISOString;
const FunctionPrototypeToString = Function.prototype.toString;
const MapPrototypeForEach = Map.prototype.forEach;
const MapPrototypeGetSize = ReflectGetOwnPropertyDescriptor(Map.prototype, "size").get;
const NumberPrototypeToFixed = Number.prototype.toFixed;
const NumberPrototypeToString = Number.prototype.toString;
const RegExpPrototypeToString = RegExp.prototype.toString;
const SetPrototypeForEach = Set.prototype.forEach;
const SetPrototypeGetSize = ReflectGetOwnPropertyDescriptor(Set.prototype, "size").get;
const StringPrototypeCharCodeAt = String.prototype.charCodeAt;
const StringPrototypeSlice = String.prototype.slice;
const SymbolPrototypeToString = Symbol.prototype.toString;
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const TypedArrayPrototypeGetLength = ReflectGetOwnPropertyDescriptor(TypedArrayPrototype, "length").get;
const TypedArrayPrototypeGetTag = ReflectGetOwnPropertyDescriptor(TypedArrayPrototype, SymbolToStringTag).get;
const Uint8ArrayCtor = Uint8Array;
const ObjectIs = Object.is;
const ArrayPrototype = Array.prototype;
const ObjectPrototype = Object.prototype;

// @startup
function charCode(string, i) {
  return ReflectApply(StringPrototypeCharCodeAt, string, [i]);
}

function slice(string, start, end = string.length) {
  return ReflectApply(StringPrototypeSlice, string, [start, end]);
}

function startsWith(string, prefix) {
  return slice(string, 0, prefix.length) === prefix;
}

function includesNewline(string) {
  for (let i = 0; i < string.length; i++) if (charCode(string, i) === 10) return true;
  return false;
}

/** `string` with each occurrence of `from` (one character) replaced by `to`. */
function replaceChar(string, from, to) {
  let out = "";
  let start = 0;
  for (let i = 0; i < string.length; i++) {
    if (string[i] === from) {
      out += slice(string, start, i) + to;
      start = i + 1;
    }
  }
  return start === 0 ? string : out + slice(string, start);
}

// @startup
function join(list, separator) {
  let out = "";
  for (let i = 0; i < list.length; i++) out += i === 0 ? list[i] : separator + list[i];
  return out;
}

function isIdentifier(key) {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = charCode(key, i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
    if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

function isIndex(key) {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = charCode(key, i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function symbolText(symbol) {
  return ReflectApply(SymbolPrototypeToString, symbol, []);
}

function formatKey(key) {
  if (typeof key === "symbol") return `[${symbolText(key)}]`;
  return isIdentifier(key) ? key : JSONStringify(key);
}

/** Reads an own data property without running a getter; undefined otherwise. */
function ownData(value, key) {
  try {
    const desc = ReflectGetOwnPropertyDescriptor(value, key);
    return desc !== undefined && !desc.get && !desc.set ? desc.value : undefined;
  } catch {
    return undefined;
  }
}

function constructorName(value) {
  try {
    const proto = ObjectGetPrototypeOf(value);
    if (proto === null) return "[Object: null prototype]";
    // The built-in prototypes are named whatever a script did to their `constructor`.
    if (proto === ArrayPrototype) return "Array";
    if (proto === ObjectPrototype) return "Object";
    const constructor = ownData(proto, "constructor");
    const name = typeof constructor === "function" ? ownData(constructor, "name") : undefined;
    let tag = ownData(value, SymbolToStringTag);
    if (tag === undefined) tag = ownData(proto, SymbolToStringTag);
    const known = typeof name === "string" ? name : "";
    if (typeof tag === "string" && tag !== "" && tag !== known) {
      return known ? `${known} [${tag}]` : `[${tag}]`;
    }
    return known || "Object";
  } catch {
    return "Object";
  }
}

function quote(string) {
  return `'${replaceChar(replaceChar(replaceChar(string, "\\", "\\\\"), "'", "\\'"), "\n", "\\n")}'`;
}

function formatPrimitive(value, nested) {
  switch (typeof value) {
    case "string":
      return nested ? quote(value) : value;
    case "bigint":
      return `${value}n`;
    case "symbol":
      return symbolText(value);
    case "number":
      return ObjectIs(value, -0) ? "-0" : `${value}`;
    default:
      return `${value}`;
  }
}

function formatError(error) {
  let text;
  try {
    const stack = error.stack;
    text = typeof stack === "string" && stack !== "" ? stack : `${error.name}: ${error.message}`;
  } catch {
    text = "[Error]";
  }
  let cause;
  try {
    cause = error.cause;
  } catch {
    cause = undefined;
  }
  if (cause !== undefined && cause !== error) {
    text += `\n  [cause]: ${inspect(cause, { depth: 1 })}`;
  }
  return text;
}

/** The first MAX_ITEMS elements of a typed array, formatted. */
function elements(value, length, seen, depth, maxDepth) {
  const out = newList();
  for (let i = 0; i < length; i++) {
    if (i === MAX_ITEMS) {
      listPush(out, "...");
      break;
    }
    listPush(out, formatValue(value[i], seen, depth + 1, maxDepth));
  }
  return out;
}

/**
 * The first MAX_ITEMS elements of an array, formatted from their own descriptors: a hole is
 * not looked up on the prototypes, an accessor is not called.
 */
function arrayElements(array, seen, depth, maxDepth) {
  const out = newList();
  const length = array.length;
  let holes = 0;
  for (let i = 0; i < length; i++) {
    if (out.length === MAX_ITEMS) {
      listPush(out, "...");
      return out;
    }
    const desc = ReflectGetOwnPropertyDescriptor(array, `${i}`);
    if (desc === undefined) {
      holes++;
      continue;
    }
    if (holes > 0) {
      listPush(out, `<${holes} empty item${holes === 1 ? "" : "s"}>`);
      holes = 0;
    }
    if (desc.get || desc.set) {
      listPush(out, desc.get && desc.set ? "[Getter/Setter]" : desc.get ? "[Getter]" : "[Setter]");
    } else {
      listPush(out, formatValue(desc.value, seen, depth + 1, maxDepth));
    }
  }
  if (holes > 0) listPush(out, `<${holes} empty item${holes === 1 ? "" : "s"}>`);
  return out;
}

function wrap(prefix, open, parts, close) {
  const head = prefix ? `${prefix} ` : "";
  if (parts.length === 0) return `${head}${open}${close}`;
  const oneLine = `${head}${open} ${join(parts, ", ")} ${close}`;
  if (oneLine.length <= 72 && !includesNewline(oneLine)) return oneLine;
  const inner = newList();
  for (let i = 0; i < parts.length; i++) listPush(inner, "  " + replaceChar(parts[i], "\n", "\n  "));
  return `${head}${open}\n${join(inner, ",\n")}\n${close}`;
}

function ownProperties(value, parts, seen, depth, maxDepth, skipIndices) {
  const keys = ReflectOwnKeys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (skipIndices && typeof key === "string" && isIndex(key)) continue;
    const desc = ReflectGetOwnPropertyDescriptor(value, key);
    if (desc === undefined || !desc.enumerable) continue;
    if (parts.length === MAX_ITEMS) {
      listPush(parts, "...");
      break;
    }
    let shown;
    if (desc.get || desc.set) {
      shown = desc.get && desc.set ? "[Getter/Setter]" : desc.get ? "[Getter]" : "[Setter]";
    } else {
      shown = formatValue(desc.value, seen, depth + 1, maxDepth);
    }
    listPush(parts, `${formatKey(key)}: ${shown}`);
  }
  return parts;
}

function hex(byte) {
  const text = ReflectApply(NumberPrototypeToString, byte, [16]);
  return text.length === 1 ? `0${text}` : text;
}

function formatValue(value, seen, depth, maxDepth) {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    return formatPrimitive(value, depth > 0);
  }
  const kind = core.valueKind(value);
  if (kind === VALUE_PROXY) return typeof value === "function" ? "[Function (proxy)]" : "Proxy {}";
  if (typeof value === "function") {
    const name = ownData(value, "name");
    const named = typeof name === "string" && name !== "";
    let source = "";
    try {
      source = ReflectApply(FunctionPrototypeToString, value, []);
    } catch {
      // Not a function V8 can print.
    }
    if (startsWith(source, "class")) return `[class ${named ? name : "(anonymous)"}]`;
    return named ? `[Function: ${name}]` : "[Function (anonymous)]";
  }
  for (let i = 0; i < seen.length; i++) if (seen[i] === value) return "[Circular *]";
  switch (kind) {
    case VALUE_ERROR:
      return formatError(value);
    case VALUE_DATE: {
      const time = ReflectApply(DatePrototypeGetTime, value, []);
      return time !== time ? "Invalid Date" : ReflectApply(DatePrototypeToISOString, value, []);
    }
    case VALUE_REGEXP:
      try {
        return ReflectApply(RegExpPrototypeToString, value, []);
      } catch {
        return "RegExp";
      }
    case VALUE_PROMISE:
      return "Promise { <unknown> }";
    case VALUE_WEAK_MAP:
    case VALUE_WEAK_SET:
      return `${constructorName(value)} { <items unknown> }`;
  }
  const nestedTooDeep = depth > maxDepth;
  listPush(seen, value);
  try {
    switch (kind) {
      case VALUE_ARRAY: {
        if (nestedTooDeep) return "[Array]";
        const parts = arrayElements(value, seen, depth, maxDepth);
        ownProperties(value, parts, seen, depth, maxDepth, true);
        const name = constructorName(value);
        return wrap(name === "Array" ? "" : name, "[", parts, "]");
      }
      case VALUE_TYPED_ARRAY: {
        const name = ReflectApply(TypedArrayPrototypeGetTag, value, []);
        if (nestedTooDeep) return `[${name}]`;
        const length = ReflectApply(TypedArrayPrototypeGetLength, value, []);
        return wrap(`${name}(${length})`, "[", elements(value, length, seen, depth, maxDepth), "]");
      }
      case VALUE_ARRAY_BUFFER: {
        const byteLength = ReflectApply(ArrayBufferPrototypeGetByteLength, value, []);
        const view = new Uint8ArrayCtor(value, 0, MathMin(byteLength, 50));
        const bytes = newList();
        for (let i = 0; i < view.length; i++) listPush(bytes, hex(view[i]));
        if (byteLength > 50) listPush(bytes, "...");
        return `ArrayBuffer { [Uint8Contents]: <${join(bytes, " ")}>, byteLength: ${byteLength} }`;
      }
      case VALUE_MAP: {
        if (nestedTooDeep) return "[Map]";
        const parts = newList();
        ReflectApply(MapPrototypeForEach, value, [(v, k) => {
          const key = formatValue(k, seen, depth + 1, maxDepth);
          listPush(parts, `${key} => ${formatValue(v, seen, depth + 1, maxDepth)}`);
        }]);
        return wrap(`Map(${ReflectApply(MapPrototypeGetSize, value, [])})`, "{", parts, "}");
      }
      case VALUE_SET: {
        if (nestedTooDeep) return "[Set]";
        const parts = newList();
        ReflectApply(SetPrototypeForEach, value, [(v) => {
          listPush(parts, formatValue(v, seen, depth + 1, maxDepth));
        }]);
        return wrap(`Set(${ReflectApply(SetPrototypeGetSize, value, [])})`, "{", parts, "}");
      }
    }
    const name = constructorName(value);
    if (nestedTooDeep) return `[${name}]`;
    const parts = ownProperties(value, newList(), seen, depth, maxDepth, false);
    if (parts.length === 0 && name !== "Object" && name !== "[Object: null prototype]") {
      // Platform objects keep their state in private fields; show their name.
      return `${name} {}`;
    }
    return wrap(name === "Object" ? "" : name, "{", parts, "}");
  } finally {
    seen.length--;
  }
}

/** Formats one value the way console.log shows it. */
export function inspect(value, options = undefined) {
  const depth = options === undefined ? MAX_DEPTH : options.depth;
  return formatValue(value, newList(), 0, depth);
}

// https://console.spec.whatwg.org/#formatter
function formatArgs(args) {
  if (args.length === 0) return "";
  const first = args[0];
  let rest = 1;
  let out = "";
  if (typeof first === "string") {
    let start = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first[i] !== "%") continue;
      const spec = first[i + 1];
      let text;
      if (spec === "%") {
        text = "%";
      } else if (rest >= args.length) {
        continue;
      } else {
        switch (spec) {
          case "s": {
            const arg = args[rest++];
            text = typeof arg === "string" ? arg : inspect(arg, { __proto__: null, depth: 1 });
            break;
          }
          case "d":
          case "i": {
            const arg = args[rest++];
            if (typeof arg === "bigint") text = `${arg}n`;
            else if (typeof arg === "symbol") text = "NaN";
            else {
              const n = NumberCtor(arg);
              text = `${spec === "i" ? MathTrunc(n) : n}`;
            }
            break;
          }
          case "f": {
            const arg = args[rest++];
            text = typeof arg === "symbol" ? "NaN" : `${NumberCtor(arg)}`;
            break;
          }
          case "j": {
            const arg = args[rest++];
            try {
              text = JSONStringify(arg);
            } catch {
              text = "[Circular]";
            }
            break;
          }
          case "c":
            rest++;
            text = "";
            break;
          case "o":
          case "O":
            text = inspect(args[rest++], { __proto__: null, depth: 4 });
            break;
          default:
            continue;
        }
      }
      out += slice(first, start, i) + text;
      start = i + 2;
      i++;
    }
    out += slice(first, start);
  } else {
    out = inspect(first);
  }
  for (let i = rest; i < args.length; i++) {
    const arg = args[i];
    out += " " + (typeof arg === "string" ? arg : inspect(arg));
  }
  return out;
}

const STDOUT = 1;
const STDERR = 2;
let groupIndent = "";
const counts = new SafeMap();
const timers = new SafeMap();

function print(stream, args) {
  let text = formatArgs(args);
  if (groupIndent) text = groupIndent + replaceChar(text, "\n", "\n" + groupIndent);
  core.print(text + "\n", stream === STDERR);
}

/** `[head, ...args]` without the array iterator. */
function prepend(head, args) {
  const list = newList();
  list[0] = head;
  for (let i = 0; i < args.length; i++) list[i + 1] = args[i];
  return list;
}

function group(...args) {
  if (args.length) print(STDOUT, args);
  groupIndent += "  ";
}

function timeLog(label = "default", ...args) {
  const start = timers.get(`${label}`);
  if (start === undefined) return;
  const elapsed = ReflectApply(NumberPrototypeToFixed, core.now() - start, [3]);
  print(STDOUT, prepend(`${label}: ${elapsed}ms`, args));
}

export const console = {
  log: (...args) => print(STDOUT, args),
  info: (...args) => print(STDOUT, args),
  debug: (...args) => print(STDOUT, args),
  error: (...args) => print(STDERR, args),
  warn: (...args) => print(STDERR, args),
  trace: (...args) => {
    const err = new ErrorCtor(formatArgs(args));
    ReflectDefineProperty(err, "name", { __proto__: null, value: "Trace", writable: true, configurable: true });
    print(STDERR, [err.stack]);
  },
  assert: (condition, ...args) => {
    if (condition) return;
    if (args.length === 0) args = ["Assertion failed"];
    else if (typeof args[0] === "string") args[0] = `Assertion failed: ${args[0]}`;
    else args = prepend("Assertion failed:", args);
    print(STDERR, args);
  },
  dir: (value) => print(STDOUT, [inspect(value)]),
  table: (...args) => print(STDOUT, args),
  group,
  groupCollapsed: group,
  groupEnd: () => {
    groupIndent = slice(groupIndent, 2);
  },
  count: (label = "default") => {
    const n = (counts.get(`${label}`) ?? 0) + 1;
    counts.set(`${label}`, n);
    print(STDOUT, [`${label}: ${n}`]);
  },
  countReset: (label = "default") => counts.delete(`${label}`),
  time: (label = "default") => timers.set(`${label}`, core.now()),
  timeLog,
  timeEnd: (label = "default") => {
    timeLog(label);
    timers.delete(`${label}`);
  },
};

Reflect.defineProperty(console, Symbol.toStringTag, { value: "console", configurable: true });
