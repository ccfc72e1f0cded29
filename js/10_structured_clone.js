// structuredClone: https://html.spec.whatwg.org/multipage/structured-data.html#dom-structuredclone
// The clone itself is V8's ValueSerializer, run by Rust (src/clone.rs).

import { core } from "v8mc:00_core.js";
import { newList, SymbolIterator, TypeErrorCtor } from "v8mc:00_primordials.js";
import { requiredArguments, toDictionary } from "v8mc:01_webidl.js";

/** Converts a `sequence<object>` transfer list; TypeError for anything else. */
export function toTransferList(value, prefix) {
  if (value === undefined) return newList();
  if (value === null || typeof value !== "object" || typeof value[SymbolIterator] !== "function") {
    throw new TypeErrorCtor(`${prefix}: the transfer list is not a sequence.`);
  }
  // The sequence is iterated with its own iterator (WebIDL), then kept in a list of ours.
  const items = [...value];
  const list = newList();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === null || (typeof item !== "object" && typeof item !== "function")) {
      throw new TypeErrorCtor(`${prefix}: the transfer list may only contain objects.`);
    }
    list[i] = item;
  }
  return list;
}

// Replaced by MessagePort's (js/12_message_port.js) when it loads.
let transferKeys = null;
let detachTransferred = null;

/**
 * MessagePort (defined later in load order) registers how the entries of a transfer list are
 * named to Rust, and how ports are detached once they were transferred.
 */
export function setTransferKeys(keys, detach) {
  transferKeys = keys;
  detachTransferred = detach;
}

export function structuredClone(value, options = undefined) {
  const prefix = "Failed to execute 'structuredClone'";
  requiredArguments(arguments.length, 1, prefix);
  const transfer = toTransferList(toDictionary(options, prefix).transfer, prefix);
  if (transfer.length === 0) return core.structuredClone(value, transfer, transfer);
  const keys = transferKeys(transfer);
  const clone = core.structuredClone(value, transfer, keys);
  detachTransferred(transfer, keys);
  return clone;
}
