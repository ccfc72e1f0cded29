// EventTarget and event dispatch: https://dom.spec.whatwg.org/#interface-eventtarget
//
// Targets here have no parents, so the event path is the target alone: capture listeners run
// first, then the others, both with eventPhase AT_TARGET. The global object is made an
// EventTarget too (see makeEventTarget), which is why listener lists live in a WeakMap rather
// than in private fields.

import { core } from "v8mc:00_core.js";
import {
  listCopy,
  listPush,
  listRemoveAt,
  newList,
  ReflectApply,
  SafeMap,
  SafeWeakMap,
  SymbolCtor,
  TypeErrorCtor,
} from "v8mc:00_primordials.js";
import { DOMException } from "v8mc:02_dom_exception.js";
import { AT_TARGET, NONE, eventInternals } from "v8mc:03_event.js";
import { ErrorEvent } from "v8mc:05_error_event.js";
import {
  configureInterface,
  illegalInvocation,
  requiredArguments,
  toDOMString,
} from "v8mc:01_webidl.js";

/** target -> SafeMap(type -> list of listeners (newList)) */
const listenerMaps = new SafeWeakMap();

let abortSignalHooks = null;
let listenerObserver = null;

/**
 * `observer(target, type, count)` hears whenever the number of listeners of a type changes
 * (MessagePort tells Rust when it has message listeners).
 */
export function setListenerObserver(observer) {
  listenerObserver = observer;
}
/** AbortSignal, defined later in load order, registers how `signal` options are observed. */
export function setAbortSignalHooks(hooks) {
  abortSignalHooks = hooks;
}

// @startup
export function makeEventTarget(object) {
  if (!listenerMaps.has(object)) listenerMaps.set(object, new SafeMap());
}

// @startup
function listenersOf(target) {
  const map = listenerMaps.get(target === undefined || target === null ? globalThis : target);
  if (map === undefined) throw illegalInvocation();
  return map;
}

// https://dom.spec.whatwg.org/#concept-flatten-options
function flattenOptions(options) {
  if (options !== null && typeof options === "object") return !!options.capture;
  return !!options;
}

// https://dom.spec.whatwg.org/#event-flatten-more
function flattenMoreOptions(options) {
  const capture = flattenOptions(options);
  let once = false;
  let passive = null;
  let signal = null;
  if (options !== null && typeof options === "object") {
    once = !!options.once;
    if (options.passive !== undefined) passive = !!options.passive;
    if (options.signal !== undefined) {
      signal = options.signal;
      if (abortSignalHooks === null || !abortSignalHooks.isAbortSignal(signal)) {
        throw new TypeErrorCtor(
          "Failed to execute 'addEventListener' on 'EventTarget': member signal is not of type AbortSignal.",
        );
      }
    }
  }
  return { capture, once, passive, signal };
}

function checkCallback(callback, method) {
  if (callback !== null && typeof callback !== "object" && typeof callback !== "function") {
    throw new TypeErrorCtor(
      `Failed to execute '${method}' on 'EventTarget': parameter 2 is not of type 'Object'.`,
    );
  }
}

// @startup
// https://dom.spec.whatwg.org/#add-an-event-listener
export function addEventListenerInternal(target, listener) {
  if (listener.signal !== null && abortSignalHooks.aborted(listener.signal)) return;
  if (listener.callback === null) return;
  const map = listenersOf(target);
  let list = map.get(listener.type);
  if (list === undefined) {
    list = newList();
    map.set(listener.type, list);
  }
  for (let i = 0; i < list.length; i++) {
    const existing = list[i];
    if (existing.callback === listener.callback && existing.capture === listener.capture) return;
  }
  listPush(list, listener);
  if (listenerObserver !== null) listenerObserver(target, listener.type, list.length);
  if (listener.signal !== null) {
    abortSignalHooks.addAlgorithm(listener.signal, () => removeListener(target, listener));
  }
}

// https://dom.spec.whatwg.org/#remove-an-event-listener
export function removeListener(target, listener) {
  listener.removed = true;
  const map = listenersOf(target);
  const list = map.get(listener.type);
  if (list === undefined) return;
  let index = 0;
  while (index < list.length && list[index] !== listener) index++;
  if (index === list.length) return;
  listRemoveAt(list, index);
  if (list.length === 0) map.delete(listener.type);
  if (listenerObserver !== null) listenerObserver(target, listener.type, list.length);
}

export class EventTarget {
  // @startup
  constructor() {
    listenerMaps.set(this, new SafeMap());
  }

  addEventListener(type, callback, options = undefined) {
    const self = this ?? globalThis;
    listenersOf(self);
    requiredArguments(arguments.length, 2, "Failed to execute 'addEventListener' on 'EventTarget'");
    type = toDOMString(type);
    checkCallback(callback, "addEventListener");
    const flat = flattenMoreOptions(options);
    const passive = flat.passive ?? false;
    addEventListenerInternal(self, {
      type,
      callback,
      capture: flat.capture,
      once: flat.once,
      passive,
      signal: flat.signal,
      removed: false,
    });
  }

  removeEventListener(type, callback, options = undefined) {
    const self = this ?? globalThis;
    const map = listenersOf(self);
    requiredArguments(
      arguments.length,
      2,
      "Failed to execute 'removeEventListener' on 'EventTarget'",
    );
    type = toDOMString(type);
    checkCallback(callback, "removeEventListener");
    const capture = flattenOptions(options);
    const list = map.get(type);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const listener = list[i];
      if (listener.callback === callback && listener.capture === capture) {
        removeListener(self, listener);
        return;
      }
    }
  }

  dispatchEvent(event) {
    const self = this ?? globalThis;
    listenersOf(self);
    requiredArguments(arguments.length, 1, "Failed to execute 'dispatchEvent' on 'EventTarget'");
    if (!eventInternals.isEvent(event)) {
      throw new TypeErrorCtor(
        "Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.",
      );
    }
    if (eventInternals.isDispatching(event) || !eventInternals.isInitialized(event)) {
      throw new DOMException("The event is already being dispatched.", "InvalidStateError");
    }
    return dispatch(self, event);
  }
}

configureInterface(EventTarget);

const NO_ERROR = SymbolCtor("no listener error");
let firstListenerError = NO_ERROR;

// @startup
/**
 * The first exception a listener threw during the last `dispatch(..., true)` (each was reported
 * already), or `NO_ERROR`; taking it resets it.
 */
export function takeListenerError() {
  const error = firstListenerError;
  firstListenerError = NO_ERROR;
  return error;
}
export { NO_ERROR };

// @startup
/**
 * https://dom.spec.whatwg.org/#concept-event-dispatch for a target without parents.
 * Returns whether the event was not canceled. With `recordErrors`, the first listener exception
 * is kept for takeListenerError() (MessagePort fires messageerror after it).
 */
export function dispatch(target, event, recordErrors = false) {
  eventInternals.setDispatching(event, true);
  eventInternals.setTarget(event, target);
  eventInternals.setPhase(event, AT_TARGET);
  eventInternals.setCurrentTarget(event, target);
  const list = listenerMaps.get(target)?.get(eventInternals.type(event));
  if (list !== undefined) {
    if (list.length === 1) {
      // One listener (a port's onmessage): its own pass is the only one with work to do.
      if (!eventInternals.stopImmediatePropagationFlag(event)) {
        invokeListener(target, event, list[0], recordErrors);
      }
    } else {
      // At the target both passes run whatever stopPropagation() says: it only keeps the event
      // from other targets, and these targets have no parents.
      const listeners = listCopy(list);
      invoke(target, event, listeners, true, recordErrors);
      invoke(target, event, listeners, false, recordErrors);
    }
  }
  eventInternals.setPhase(event, NONE);
  eventInternals.setCurrentTarget(event, null);
  eventInternals.setDispatching(event, false);
  eventInternals.clearStopFlags(event);
  return !eventInternals.canceled(event);
}

// https://dom.spec.whatwg.org/#concept-event-listener-inner-invoke
function invoke(target, event, listeners, capturePhase, recordErrors) {
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i];
    if (eventInternals.stopImmediatePropagationFlag(event)) return;
    if (listener.capture !== capturePhase) continue;
    invokeListener(target, event, listener, recordErrors);
  }
}

// @startup
function invokeListener(target, event, listener, recordErrors) {
  if (listener.removed) return;
  if (listener.once) removeListener(target, listener);
  if (listener.passive) eventInternals.setInPassiveListener(event, true);
  try {
    const callback = listener.callback;
    if (typeof callback === "function") {
      ReflectApply(callback, target, [event]);
    } else {
      const handleEvent = callback.handleEvent;
      if (typeof handleEvent !== "function") {
        throw new TypeErrorCtor("The listener object has no callable 'handleEvent' property.");
      }
      ReflectApply(handleEvent, callback, [event]);
    }
  } catch (error) {
    reportException(error);
    if (recordErrors && firstListenerError === NO_ERROR) firstListenerError = error;
  }
  eventInternals.setInPassiveListener(event, false);
}

let reportingError = false;

/**
 * https://html.spec.whatwg.org/multipage/webappapis.html#report-an-exception: an `error`
 * event on the global object; when no listener cancels it, the runtime prints it as uncaught
 * and remembers it (the CLI then exits non-zero).
 */
export function reportException(error) {
  if (reportingError) {
    // An error thrown by an `error` listener is not reported through another event.
    core.reportUncaught(error);
    return;
  }
  const event = new ErrorEvent("error", {
    __proto__: null,
    cancelable: true,
    error,
    ...core.errorLocation(error),
  });
  eventInternals.setTrusted(event);
  reportingError = true;
  let notCanceled;
  try {
    notCanceled = dispatch(globalThis, event);
  } finally {
    reportingError = false;
  }
  if (notCanceled) core.reportUncaught(error);
}

/** https://html.spec.whatwg.org/multipage/webappapis.html#dom-reporterror */
export function reportError(e) {
  requiredArguments(arguments.length, 1, "Failed to execute 'reportError'");
  reportException(e);
}


const handlerValues = new SafeWeakMap();

// @startup
/**
 * Defines an event handler IDL attribute such as `onmessage`
 * (https://html.spec.whatwg.org/multipage/webappapis.html#event-handler-attributes):
 * the first non-null value registers one listener, which later values reuse in place.
 * `onFirstSet(target)` runs when a handler is set (MessagePort starts its queue then).
 */
export function defineEventHandler(proto, name, brandCheck, onSet = undefined) {
  const type = name.slice(2);
  Reflect.defineProperty(proto, `on${type}`, {
    get() {
      if (!brandCheck(this)) throw illegalInvocation();
      return handlerValues.get(this)?.get(type)?.value ?? null;
    },
    // @startup
    set(value) {
      if (!brandCheck(this)) throw illegalInvocation();
      const callable = typeof value === "function" ? value : null;
      let handlers = handlerValues.get(this);
      if (handlers === undefined) {
        handlers = new SafeMap();
        handlerValues.set(this, handlers);
      }
      let handler = handlers.get(type);
      if (callable === null) {
        if (handler !== undefined) {
          removeListener(this, handler.listener);
          handlers.delete(type);
        }
        return;
      }
      if (handler === undefined) {
        const target = this;
        handler = { value: callable, listener: null };
        handler.listener = {
          type,
          // @startup
          callback: function (event) {
            const result = ReflectApply(handler.value, target, [event]);
            // https://html.spec.whatwg.org/multipage/webappapis.html#the-event-handler-processing-algorithm
            if (result === false) eventInternals.setCanceled(event);
          },
          capture: false,
          once: false,
          passive: false,
          signal: null,
          removed: false,
        };
        handlers.set(type, handler);
        addEventListenerInternal(this, handler.listener);
      } else {
        handler.value = callable;
      }
      onSet?.(this);
    },
    enumerable: true,
    configurable: true,
  });
}
