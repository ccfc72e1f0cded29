// Installs the web globals into the context and hands Rust its hooks, among them applyCompat,
// the one place where the compatibility settings decide what exists. Evaluated last; Rust removes
// the bindings object from the global right after.

import { core } from "v8mc:00_core.js";
import { DOMException } from "v8mc:02_dom_exception.js";
import { createTrustedEvent, CustomEvent, Event, taskClock } from "v8mc:03_event.js";
import { MessageEvent } from "v8mc:04_message_event.js";
import { ErrorEvent, PromiseRejectionEvent } from "v8mc:05_error_event.js";
import {
  dispatch,
  EventTarget,
  makeEventTarget,
  reportError,
  reportException,
} from "v8mc:06_event_target.js";
import { AbortController, AbortSignal } from "v8mc:07_abort_signal.js";
import { console } from "v8mc:08_console.js";
import {
  clearInterval,
  clearTimeout,
  queueMicrotask,
  runTimer,
  setInterval,
  setTimeout,
} from "v8mc:09_timers.js";
import { structuredClone } from "v8mc:10_structured_clone.js";
import { messageLimit } from "v8mc:11_message_copy.js";
import {
  Performance,
  performance,
  PerformanceEntry,
  PerformanceMark,
  PerformanceMeasure,
} from "v8mc:13_performance.js";
import { URL, URLSearchParams } from "v8mc:14_url.js";
import {
  deliverClose,
  deliverMessages,
  LOST,
  MessageChannel,
  MessagePort,
  newPort,
  setTransferAllowed,
  STOP,
  withPorts,
} from "v8mc:12_message_port.js";

// WebIDL globals are writable, configurable and not enumerable.
function defineGlobal(name, value) {
  Reflect.defineProperty(globalThis, name, {
    value,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

const always = {
  AbortController,
  AbortSignal,
  CustomEvent,
  DOMException,
  ErrorEvent,
  Event,
  EventTarget,
  MessageEvent,
  Performance,
  PerformanceEntry,
  PerformanceMark,
  PerformanceMeasure,
  PromiseRejectionEvent,
  URL,
  URLSearchParams,
  clearInterval,
  clearTimeout,
  console,
  performance,
  queueMicrotask,
  reportError,
  setInterval,
  setTimeout,
  structuredClone,
};
for (const [name, value] of Object.entries(always)) defineGlobal(name, value);

defineGlobal("MessageChannel", MessageChannel);
defineGlobal("MessagePort", MessagePort);

// @startup
/**
 * Rust calls this once per context, right after installing or after restoring the startup
 * snapshot (made with every global present). It is the one place the compatibility settings act,
 * and it registers the global object, whose proxy a snapshot restore replaces.
 */
function applyCompat(compat) {
  makeEventTarget(globalThis);
  if (!("self" in globalThis)) defineGlobal("self", globalThis);
  setTransferAllowed(compat.messagePortTransfer);
  defineGlobal("crossOriginIsolated", compat.crossOriginIsolated);
  if (!compat.exposeGlobalMessageChannel) {
    delete globalThis.MessageChannel;
    delete globalThis.MessagePort;
  }
}

// The global object is an EventTarget (for `error` and `unhandledrejection`), as in workers;
// applyCompat registers it.
{
  // V8 puts the global template's prototype between the global object and Object.prototype;
  // EventTarget.prototype goes in just above Object.prototype, so globalThis instanceof
  // EventTarget holds without disturbing an embedder's own prototypes.
  let link = globalThis;
  while (Object.getPrototypeOf(link) !== null && Object.getPrototypeOf(link) !== Object.prototype) {
    link = Object.getPrototypeOf(link);
  }
  if (Object.getPrototypeOf(link) === Object.prototype && Reflect.setPrototypeOf(link, EventTarget.prototype)) {
    // Done: the methods are inherited.
  } else {
    for (const name of ["addEventListener", "removeEventListener", "dispatchEvent"]) {
      defineGlobal(name, EventTarget.prototype[name]);
    }
  }
}

/** Fires `unhandledrejection`; returns true when no listener canceled it. */
function unhandledRejection(promise, reason) {
  const event = createTrustedEvent(PromiseRejectionEvent, "unhandledrejection", {
    __proto__: null,
    cancelable: true,
    promise,
    reason,
  });
  return dispatch(globalThis, event);
}

core.setHooks({
  // The bindings object itself: after a snapshot restore Rust puts fresh natives on it.
  core,
  applyCompat,
  // Instances of these are platform objects: structured clone refuses them.
  platformPrototypes: [
    EventTarget.prototype,
    Event.prototype,
    AbortController.prototype,
    MessageChannel.prototype,
  ],
  messagePortPrototype: MessagePort.prototype,
  // One array of each fast elements kind (small integers, doubles, anything; packed first,
  // then holey), kept by Rust alone: arrays sharing one of their maps have no named properties
  // (src/clone/kind.rs).
  arraySamples: [[], [0.5], [{}], [, 1], [, 0.5], [, {}]],
  taskClock,
  messageLimit,
  deliverClose,
  deliverMessages,
  newPort,
  withPorts,
  stop: STOP,
  lost: LOST,
  newDataCloneError: (message) => new DOMException(message, "DataCloneError"),
  reportException,
  runTimer,
  unhandledRejection,
});
