// AbortController and AbortSignal, as far as event listener `signal` options and user code
// need them: https://dom.spec.whatwg.org/#aborting-ongoing-activities

import {
  listPush,
  NumberCtor,
  NumberIsFinite,
  newList,
  SafeSet,
  TypeErrorCtor,
} from "v8mc:00_primordials.js";
import { DOMException } from "v8mc:02_dom_exception.js";
import { createTrustedEvent, Event } from "v8mc:03_event.js";
import { setTimeout } from "v8mc:09_timers.js";
import {
  defineEventHandler,
  dispatch,
  EventTarget,
  setAbortSignalHooks,
} from "v8mc:06_event_target.js";
import {
  configureInterface,
  illegalConstructor,
  illegalConstructorKey,
  illegalInvocation,
} from "v8mc:01_webidl.js";

let isAbortSignal;

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #algorithms = new SafeSet();

  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    super();
  }

  static abort(reason = undefined) {
    const signal = new AbortSignal(illegalConstructorKey);
    signal.#aborted = true;
    signal.#reason = reason === undefined
      ? new DOMException("This operation was aborted", "AbortError")
      : reason;
    return signal;
  }

  static timeout(milliseconds) {
    const signal = new AbortSignal(illegalConstructorKey);
    const ms = NumberCtor(milliseconds);
    if (!NumberIsFinite(ms) || ms < 0) {
      throw new TypeErrorCtor("Failed to execute 'timeout' on 'AbortSignal': invalid delay.");
    }
    setTimeout(() => {
      signalAbort(signal, new DOMException("The operation timed out.", "TimeoutError"));
    }, ms);
    return signal;
  }

  get aborted() {
    if (!(#aborted in this)) throw illegalInvocation();
    return this.#aborted;
  }

  get reason() {
    if (!(#aborted in this)) throw illegalInvocation();
    return this.#reason;
  }

  throwIfAborted() {
    if (!(#aborted in this)) throw illegalInvocation();
    if (this.#aborted) throw this.#reason;
  }

  static {
    isAbortSignal = (s) => s !== null && typeof s === "object" && #aborted in s;
    setAbortSignalHooks({
      isAbortSignal,
      aborted: (s) => s.#aborted,
      addAlgorithm: (s, algorithm) => {
        if (!s.#aborted) s.#algorithms.add(algorithm);
      },
    });
  }

  // https://dom.spec.whatwg.org/#abortsignal-signal-abort
  static signalAbort(signal, reason) {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined
      ? new DOMException("This operation was aborted", "AbortError")
      : reason;
    const algorithms = newList();
    signal.#algorithms.forEach((algorithm) => listPush(algorithms, algorithm));
    signal.#algorithms.clear();
    for (let i = 0; i < algorithms.length; i++) algorithms[i]();
    dispatch(signal, createTrustedEvent(Event, "abort"));
  }
}

const signalAbort = AbortSignal.signalAbort;
delete AbortSignal.signalAbort;

defineEventHandler(
  AbortSignal.prototype,
  "onabort",
  isAbortSignal,
);
configureInterface(AbortSignal);

export class AbortController {
  #signal = new AbortSignal(illegalConstructorKey);

  get signal() {
    if (!(#signal in this)) throw illegalInvocation();
    return this.#signal;
  }

  abort(reason = undefined) {
    if (!(#signal in this)) throw illegalInvocation();
    signalAbort(this.#signal, reason);
  }
}

configureInterface(AbortController);
