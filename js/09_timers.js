// Timers and queueMicrotask:
// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers
//
// JS keeps the callbacks; Rust keeps the deadlines and queues a task (with a microtask
// checkpoint after it) when one is due, then calls `runTimer(id)`.

import { core } from "v8mc:00_core.js";
import {
  indirectEval,
  MathTrunc,
  NumberCtor,
  NumberIsFinite,
  ReflectApply,
  SafeMap,
  TypeErrorCtor,
} from "v8mc:00_primordials.js";
import { reportException } from "v8mc:06_event_target.js";
import { requiredArguments } from "v8mc:01_webidl.js";

const timers = new SafeMap();
let nextId = 1;
let nestingLevel = 0;

function toDelay(timeout) {
  const n = NumberCtor(timeout);
  // https://webidl.spec.whatwg.org/#es-long, then clamp negatives to zero.
  if (!NumberIsFinite(n)) return 0;
  const long = MathTrunc(n) | 0;
  return long < 0 ? 0 : long;
}

function initializeTimer(handler, timeout, args, repeat) {
  const id = nextId++;
  const timer = { handler, args, repeat, delay: toDelay(timeout), nesting: nestingLevel + 1 };
  timers.set(id, timer);
  schedule(id, timer);
  return id;
}

function schedule(id, timer) {
  // Deeply nested timers are clamped to 4 ms, as in browsers, so a timer loop cannot spin.
  const delay = timer.nesting > 5 && timer.delay < 4 ? 4 : timer.delay;
  core.timerSchedule(id, delay);
}

export function runTimer(id) {
  const timer = timers.get(id);
  if (timer === undefined) return;
  if (!timer.repeat) timers.delete(id);
  const saved = nestingLevel;
  nestingLevel = timer.nesting;
  try {
    if (typeof timer.handler === "function") {
      ReflectApply(timer.handler, globalThis, timer.args);
    } else {
      indirectEval(`${timer.handler}`);
    }
  } catch (error) {
    reportException(error);
  } finally {
    nestingLevel = saved;
  }
  if (timer.repeat && timers.get(id) === timer) {
    timer.nesting++;
    schedule(id, timer);
  }
}

export function setTimeout(handler, timeout = 0, ...args) {
  requiredArguments(arguments.length, 1, "Failed to execute 'setTimeout'");
  return initializeTimer(handler, timeout, args, false);
}

export function setInterval(handler, timeout = 0, ...args) {
  requiredArguments(arguments.length, 1, "Failed to execute 'setInterval'");
  return initializeTimer(handler, timeout, args, true);
}

function clearTimer(id) {
  const key = NumberCtor(id);
  if (timers.delete(key)) core.timerCancel(key);
}

export function clearTimeout(id = 0) {
  clearTimer(id);
}

export function clearInterval(id = 0) {
  clearTimer(id);
}

// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#dom-queuemicrotask
export function queueMicrotask(callback) {
  requiredArguments(arguments.length, 1, "Failed to execute 'queueMicrotask'");
  if (typeof callback !== "function") {
    throw new TypeErrorCtor("Failed to execute 'queueMicrotask': parameter 1 is not a function.");
  }
  core.enqueueMicrotask(() => {
    try {
      callback();
    } catch (error) {
      reportException(error);
    }
  });
}
