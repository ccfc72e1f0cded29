// structuredClone: https://html.spec.whatwg.org/multipage/structured-data.html#dom-structuredclone
// The clone itself is V8's ValueSerializer, run by Rust (src/clone.rs).

import { core } from "v8mc:00_core.js";
import { requiredArguments, toDictionary } from "v8mc:01_webidl.js";

/** Converts a `sequence<object>` transfer list; TypeError for anything else. */
export function toTransferList(value, prefix) {
  if (value === undefined) return [];
  if (value === null || typeof value !== "object" || typeof value[Symbol.iterator] !== "function") {
    throw new TypeError(`${prefix}: the transfer list is not a sequence.`);
  }
  const list = [...value];
  for (const item of list) {
    if (item === null || (typeof item !== "object" && typeof item !== "function")) {
      throw new TypeError(`${prefix}: the transfer list may only contain objects.`);
    }
  }
  return list;
}

export function structuredClone(value, options = undefined) {
  const prefix = "Failed to execute 'structuredClone'";
  requiredArguments(arguments.length, 1, prefix);
  const transfer = toTransferList(toDictionary(options, prefix).transfer, prefix);
  return core.structuredClone(value, transfer);
}
