// Event and CustomEvent: https://dom.spec.whatwg.org/#interface-event
//
// The dispatch algorithm lives with EventTarget; it reaches an event's internal state through
// the `eventInternals` functions exported here (spec flags keep their spec names).

import { core } from "v8mc:00_core.js";
import { ObjectFreeze, ReflectDefineProperty } from "v8mc:00_primordials.js";
import {
  configureInterface,
  illegalInvocation,
  requiredArguments,
  toDictionary,
  toDOMString,
} from "v8mc:01_webidl.js";

export const NONE = 0;
export const CAPTURING_PHASE = 1;
export const AT_TARGET = 2;
export const BUBBLING_PHASE = 3;

export let eventInternals;

/**
 * Makes a copy of a never-dispatched trusted event (see createMessageEvent) the event `type`
 * of the current task.
 */
export let initTrustedCopy;

/**
 * Passed as the init dictionary by platform code that creates trusted events on the hot path
 * (a message per task): it skips the WebIDL conversions, which user input needs and ours does not.
 */
export const TRUSTED_INIT = ObjectFreeze({ __proto__: null });

/**
 * The time the current event-loop task started (ms since the runtime's time origin), written by
 * Rust before each task. Trusted events of the hot path take their timeStamp from it instead of
 * calling into Rust for the clock.
 */
export const taskClock = new Float64Array(1);

// [LegacyUnforgeable] readonly attribute boolean isTrusted: an own accessor whose getter is the
// same function on every event, defined in every constructor. V8 reads a descriptor that is a
// plain extensible object much faster than a frozen or null-prototype one (250 vs 420 ns per
// event), but a plain one would inherit `value`, `writable` or `set` from a polluted
// Object.prototype; definingIsTrusted() picks the null-prototype one then.
const isTrustedDescriptor = {
  get: isTrusted,
  enumerable: true,
  configurable: false,
};
const isTrustedDescriptorNoProto = {
  __proto__: null,
  get: isTrusted,
  enumerable: true,
  configurable: false,
};
const ObjectPrototype = Object.prototype;

// @startup
function definingIsTrusted() {
  return "value" in ObjectPrototype || "writable" in ObjectPrototype || "set" in ObjectPrototype
    ? isTrustedDescriptorNoProto
    : isTrustedDescriptor;
}

function isTrusted() {
  return eventInternals.isTrusted(this);
}

export class Event {
  #type = "";
  #bubbles = false;
  #cancelable = false;
  #composed = false;
  #target = null;
  #currentTarget = null;
  #eventPhase = NONE;
  #timeStamp;
  // https://dom.spec.whatwg.org/#stop-propagation-flag and its siblings
  #stopPropagationFlag = false;
  #stopImmediatePropagationFlag = false;
  #canceledFlag = false;
  #inPassiveListenerFlag = false;
  #initializedFlag = false;
  #dispatchFlag = false;
  #isTrusted = false;

  // @startup
  constructor(type, eventInitDict = undefined) {
    if (eventInitDict === TRUSTED_INIT) {
      this.#initializedFlag = true;
      this.#isTrusted = true;
      this.#type = type;
      this.#timeStamp = taskClock[0];
      ReflectDefineProperty(this, "isTrusted", definingIsTrusted());
      return;
    }
    requiredArguments(arguments.length, 1, `Failed to construct '${new.target.name}'`);
    type = toDOMString(type);
    const init = toDictionary(eventInitDict, `Failed to construct '${new.target.name}'`);
    this.#initializedFlag = true;
    this.#type = type;
    this.#bubbles = !!init.bubbles;
    this.#cancelable = !!init.cancelable;
    this.#composed = !!init.composed;
    this.#timeStamp = core.now();
    ReflectDefineProperty(this, "isTrusted", definingIsTrusted());
  }

  #check() {
    if (!(#type in this)) throw illegalInvocation();
  }

  get type() {
    this.#check();
    return this.#type;
  }
  get target() {
    this.#check();
    return this.#target;
  }
  get srcElement() {
    this.#check();
    return this.#target;
  }
  get currentTarget() {
    this.#check();
    return this.#currentTarget;
  }
  composedPath() {
    this.#check();
    return this.#currentTarget === null ? [] : [this.#currentTarget];
  }
  get eventPhase() {
    this.#check();
    return this.#eventPhase;
  }
  stopPropagation() {
    this.#check();
    this.#stopPropagationFlag = true;
  }
  get cancelBubble() {
    this.#check();
    return this.#stopPropagationFlag;
  }
  set cancelBubble(value) {
    this.#check();
    if (value) this.#stopPropagationFlag = true;
  }
  stopImmediatePropagation() {
    this.#check();
    this.#stopPropagationFlag = true;
    this.#stopImmediatePropagationFlag = true;
  }
  get bubbles() {
    this.#check();
    return this.#bubbles;
  }
  get cancelable() {
    this.#check();
    return this.#cancelable;
  }
  get returnValue() {
    this.#check();
    return !this.#canceledFlag;
  }
  set returnValue(value) {
    this.#check();
    if (!value) this.#setCanceledFlag();
  }
  preventDefault() {
    this.#check();
    this.#setCanceledFlag();
  }
  get defaultPrevented() {
    this.#check();
    return this.#canceledFlag;
  }
  get composed() {
    this.#check();
    return this.#composed;
  }
  get timeStamp() {
    this.#check();
    return this.#timeStamp;
  }
  initEvent(type, bubbles = false, cancelable = false) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'initEvent' on 'Event'");
    if (this.#dispatchFlag) return;
    this.#initialize(toDOMString(type), !!bubbles, !!cancelable);
  }

  // https://dom.spec.whatwg.org/#set-the-canceled-flag
  #setCanceledFlag() {
    if (this.#cancelable && !this.#inPassiveListenerFlag) this.#canceledFlag = true;
  }

  // https://dom.spec.whatwg.org/#concept-event-initialize
  #initialize(type, bubbles, cancelable) {
    this.#initializedFlag = true;
    this.#stopPropagationFlag = false;
    this.#stopImmediatePropagationFlag = false;
    this.#canceledFlag = false;
    this.#isTrusted = false;
    this.#target = null;
    this.#type = type;
    this.#bubbles = bubbles;
    this.#cancelable = cancelable;
  }

  static {
    // @startup
    initTrustedCopy = (event, type) => {
      event.#type = type;
      event.#timeStamp = taskClock[0];
    };
    eventInternals = {
      isEvent: (e) => e !== null && typeof e === "object" && #type in e,
      isTrusted: (e) => {
        if (!(e !== null && typeof e === "object" && #type in e)) throw illegalInvocation();
        return e.#isTrusted;
      },
      // @startup
      setTrusted: (e) => {
        e.#isTrusted = true;
      },
      initialize: (e, type, bubbles, cancelable) => e.#initialize(type, bubbles, cancelable),
      // @startup
      type: (e) => e.#type,
      // @startup
      setTarget: (e, t) => {
        e.#target = t;
      },
      // @startup
      setCurrentTarget: (e, t) => {
        e.#currentTarget = t;
      },
      // @startup
      setPhase: (e, p) => {
        e.#eventPhase = p;
      },
      isInitialized: (e) => e.#initializedFlag,
      isDispatching: (e) => e.#dispatchFlag,
      // @startup
      setDispatching: (e, v) => {
        e.#dispatchFlag = v;
      },
      stopPropagationFlag: (e) => e.#stopPropagationFlag,
      // @startup
      stopImmediatePropagationFlag: (e) => e.#stopImmediatePropagationFlag,
      // @startup
      clearStopFlags: (e) => {
        e.#stopPropagationFlag = false;
        e.#stopImmediatePropagationFlag = false;
      },
      // @startup
      setInPassiveListener: (e, v) => {
        e.#inPassiveListenerFlag = v;
      },
      // @startup
      canceled: (e) => e.#canceledFlag,
      setCanceled: (e) => e.#setCanceledFlag(),
    };
  }
}

configureInterface(Event, { NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE });

/** https://dom.spec.whatwg.org/#interface-customevent */
export class CustomEvent extends Event {
  #detail = null;

  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, "Failed to construct 'CustomEvent'");
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, "Failed to construct 'CustomEvent'");
    this.#detail = init.detail === undefined ? null : init.detail;
  }

  get detail() {
    if (!(#detail in this)) throw illegalInvocation();
    return this.#detail;
  }

  initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
    if (!(#detail in this)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'initCustomEvent' on 'CustomEvent'");
    if (eventInternals.isDispatching(this)) return;
    eventInternals.initialize(this, toDOMString(type), !!bubbles, !!cancelable);
    this.#detail = detail;
  }
}

configureInterface(CustomEvent);

// @startup
/** Creates an event the way the platform does (`isTrusted` true). */
export function createTrustedEvent(EventClass, type, init) {
  const event = new EventClass(type, init);
  eventInternals.setTrusted(event);
  return event;
}
