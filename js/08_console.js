// console: https://console.spec.whatwg.org/ with Node/Deno-style formatting of values, written
// to the runtime's stdout (log, info, debug) or stderr (error, warn, trace).

import { core } from "v8mc:00_core.js";

const MAX_DEPTH = 2;
const MAX_ITEMS = 100;

function isIdentifier(key) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
}

function formatKey(key) {
  if (typeof key === "symbol") return `[${key.toString()}]`;
  return isIdentifier(key) ? key : JSON.stringify(key);
}

function constructorName(value) {
  try {
    let proto = Object.getPrototypeOf(value);
    if (proto === null) return "[Object: null prototype]";
    const tag = value[Symbol.toStringTag];
    const name = proto.constructor?.name;
    if (typeof tag === "string" && tag !== "" && tag !== name) {
      return name ? `${name} [${tag}]` : `[${tag}]`;
    }
    return name || "Object";
  } catch {
    return "Object";
  }
}

function formatPrimitive(value, nested) {
  switch (typeof value) {
    case "string":
      return nested ? `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\n", "\\n")}'` : value;
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "number":
      return Object.is(value, -0) ? "-0" : `${value}`;
    default:
      return `${value}`;
  }
}

function formatError(error) {
  let text;
  try {
    text = typeof error.stack === "string" && error.stack !== ""
      ? error.stack
      : `${error.name}: ${error.message}`;
  } catch {
    text = "[Error]";
  }
  if (error.cause !== undefined && error.cause !== error) {
    text += `\n  [cause]: ${inspect(error.cause, { depth: 1 })}`;
  }
  return text;
}

function entries(items, seen, depth, maxDepth) {
  const out = [];
  let count = 0;
  for (const item of items) {
    if (count++ === MAX_ITEMS) {
      out.push("...");
      break;
    }
    out.push(formatValue(item, seen, depth + 1, maxDepth));
  }
  return out;
}

function wrap(prefix, open, parts, close) {
  const head = prefix ? `${prefix} ` : "";
  if (parts.length === 0) return `${head}${open}${close}`;
  const oneLine = `${head}${open} ${parts.join(", ")} ${close}`;
  if (oneLine.length <= 72 && !oneLine.includes("\n")) return oneLine;
  const inner = parts.map((p) => "  " + p.replaceAll("\n", "\n  ")).join(",\n");
  return `${head}${open}\n${inner}\n${close}`;
}

function ownProperties(value, seen, depth, maxDepth, skipIndices) {
  const parts = [];
  for (const key of Reflect.ownKeys(value)) {
    if (skipIndices && typeof key === "string" && /^\d+$/.test(key)) continue;
    const desc = Reflect.getOwnPropertyDescriptor(value, key);
    if (!desc.enumerable) continue;
    if (parts.length === MAX_ITEMS) {
      parts.push("...");
      break;
    }
    let shown;
    if (desc.get || desc.set) {
      shown = desc.get && desc.set ? "[Getter/Setter]" : desc.get ? "[Getter]" : "[Setter]";
    } else {
      shown = formatValue(desc.value, seen, depth + 1, maxDepth);
    }
    parts.push(`${formatKey(key)}: ${shown}`);
  }
  return parts;
}

function formatValue(value, seen, depth, maxDepth) {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    return formatPrimitive(value, depth > 0);
  }
  if (typeof value === "function") {
    const isClass = Function.prototype.toString.call(value).startsWith("class");
    const name = value.name ? `: ${value.name}` : " (anonymous)";
    return isClass ? `[class ${value.name || "(anonymous)"}]` : `[Function${name}]`;
  }
  if (seen.includes(value)) return "[Circular *]";
  if (value instanceof Error) return formatError(value);
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (value instanceof RegExp) return value.toString();
  if (value instanceof Promise) return "Promise { <unknown> }";
  if (value instanceof WeakMap || value instanceof WeakSet) {
    return `${constructorName(value)} { <items unknown> }`;
  }
  const nestedTooDeep = depth > maxDepth;
  seen.push(value);
  try {
    if (Array.isArray(value)) {
      if (nestedTooDeep) return "[Array]";
      const parts = entries(value, seen, depth, maxDepth);
      parts.push(...ownProperties(value, seen, depth, maxDepth, true));
      const prefix = constructorName(value) === "Array" ? "" : constructorName(value);
      return wrap(prefix, "[", parts, "]");
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const name = constructorName(value);
      if (nestedTooDeep) return `[${name}]`;
      const parts = entries(value, seen, depth, maxDepth);
      return wrap(`${name}(${value.length})`, "[", parts, "]");
    }
    if (value instanceof ArrayBuffer) {
      const bytes = [...new Uint8Array(value, 0, Math.min(value.byteLength, 50))]
        .map((b) => b.toString(16).padStart(2, "0"));
      if (value.byteLength > 50) bytes.push("...");
      return `ArrayBuffer { [Uint8Contents]: <${bytes.join(" ")}>, byteLength: ${value.byteLength} }`;
    }
    if (value instanceof Map) {
      if (nestedTooDeep) return "[Map]";
      const parts = [];
      for (const [k, v] of value) {
        const key = formatValue(k, seen, depth + 1, maxDepth);
        parts.push(`${key} => ${formatValue(v, seen, depth + 1, maxDepth)}`);
      }
      return wrap(`Map(${value.size})`, "{", parts, "}");
    }
    if (value instanceof Set) {
      if (nestedTooDeep) return "[Set]";
      return wrap(`Set(${value.size})`, "{", entries(value, seen, depth, maxDepth), "}");
    }
    const name = constructorName(value);
    if (nestedTooDeep) return `[${name}]`;
    const parts = ownProperties(value, seen, depth, maxDepth, false);
    if (parts.length === 0 && typeof value.constructor === "function" && name !== "Object") {
      // Platform objects keep their state in private fields; show their accessors instead.
      return `${name} {}`;
    }
    return wrap(name === "Object" ? "" : name, "{", parts, "}");
  } finally {
    seen.pop();
  }
}

/** Formats one value the way console.log shows it. */
export function inspect(value, options = {}) {
  return formatValue(value, [], 0, options.depth ?? MAX_DEPTH);
}

// https://console.spec.whatwg.org/#formatter
function formatArgs(args) {
  if (args.length === 0) return "";
  const first = args[0];
  let rest = 1;
  let out = "";
  if (typeof first === "string") {
    out = first.replace(/%([sdifoOjc%])/g, (match, spec) => {
      if (spec === "%") return "%";
      if (rest >= args.length) return match;
      const arg = args[rest++];
      switch (spec) {
        case "s":
          return typeof arg === "string" ? arg : inspect(arg, { depth: 1 });
        case "d":
        case "i": {
          if (typeof arg === "bigint") return `${arg}n`;
          if (typeof arg === "symbol") return "NaN";
          const n = Number(arg);
          return `${spec === "i" ? Math.trunc(n) : n}`;
        }
        case "f":
          return typeof arg === "symbol" ? "NaN" : `${Number(arg)}`;
        case "j":
          try {
            return JSON.stringify(arg);
          } catch {
            return "[Circular]";
          }
        case "c":
          return "";
        default:
          return inspect(arg, { depth: 4 });
      }
    });
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
const counts = new Map();
const timers = new Map();

function print(stream, args) {
  let text = formatArgs(args);
  if (groupIndent) text = groupIndent + text.replaceAll("\n", "\n" + groupIndent);
  core.print(text + "\n", stream === STDERR);
}

export const console = {
  log: (...args) => print(STDOUT, args),
  info: (...args) => print(STDOUT, args),
  debug: (...args) => print(STDOUT, args),
  error: (...args) => print(STDERR, args),
  warn: (...args) => print(STDERR, args),
  trace: (...args) => {
    const err = new Error(formatArgs(args));
    err.name = "Trace";
    print(STDERR, [err.stack]);
  },
  assert: (condition, ...args) => {
    if (condition) return;
    if (args.length === 0) args = ["Assertion failed"];
    else if (typeof args[0] === "string") args[0] = `Assertion failed: ${args[0]}`;
    else args.unshift("Assertion failed:");
    print(STDERR, args);
  },
  dir: (value) => print(STDOUT, [inspect(value)]),
  table: (...args) => print(STDOUT, args),
  group: (...args) => {
    if (args.length) print(STDOUT, args);
    groupIndent += "  ";
  },
  groupCollapsed: (...args) => console.group(...args),
  groupEnd: () => {
    groupIndent = groupIndent.slice(2);
  },
  count: (label = "default") => {
    const n = (counts.get(`${label}`) ?? 0) + 1;
    counts.set(`${label}`, n);
    print(STDOUT, [`${label}: ${n}`]);
  },
  countReset: (label = "default") => counts.delete(`${label}`),
  time: (label = "default") => timers.set(`${label}`, core.now()),
  timeLog: (label = "default", ...args) => {
    const start = timers.get(`${label}`);
    if (start !== undefined) print(STDOUT, [`${label}: ${(core.now() - start).toFixed(3)}ms`, ...args]);
  },
  timeEnd: (label = "default") => {
    console.timeLog(label);
    timers.delete(`${label}`);
  },
};

Reflect.defineProperty(console, Symbol.toStringTag, { value: "console", configurable: true });
