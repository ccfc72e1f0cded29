// MessageEvent: https://html.spec.whatwg.org/multipage/comms.html#the-messageevent-interface

import { core } from "v8mc:00_core.js";
import { ObjectFreeze, SymbolIterator, TypeErrorCtor } from "v8mc:00_primordials.js";
import { Event, eventInternals, initTrustedCopy, TRUSTED_INIT } from "v8mc:03_event.js";
import {
  configureInterface,
  illegalInvocation,
  requiredArguments,
  toDictionary,
  toDOMString,
  toUSVString,
} from "v8mc:01_webidl.js";

let isMessagePort = () => false;
/** MessagePort registers its brand check here; it is defined later in load order. */
export function setMessagePortCheck(check) {
  isMessagePort = check;
}

const emptyPorts = ObjectFreeze([]);
let trustedData = null;

let setData;
let setPorts;

/**
 * A trusted MessageEvent that is never dispatched: each delivered message gets a shallow copy
 * of it (core.copyObject keeps the shape: the own isTrusted accessor and the private fields
 * come along), with its type, time stamp and data set. Defining isTrusted on a new instance
 * costs more than the rest of the event. `null` where copies are not available.
 */
let template;

// @startup
function constructTrusted(type, data) {
  trustedData = data;
  const event = new MessageEvent(type, TRUSTED_INIT);
  trustedData = null;
  return event;
}

// @startup
function makeTemplate() {
  const event = constructTrusted("message", null);
  try {
    core.copyObject(event);
    return event;
  } catch {
    return null;
  }
}

// @startup
/**
 * A trusted MessageEvent with `data` and, when the message carried ports, `ports` (a frozen
 * array), made the cheap way (one per delivered message).
 */
export function createMessageEvent(type, data, ports = undefined) {
  if (template === undefined) template = makeTemplate();
  let event;
  if (template === null) {
    event = constructTrusted(type, data);
  } else {
    event = core.copyObject(template);
    initTrustedCopy(event, type);
    setData(event, data);
  }
  if (ports !== undefined) setPorts(event, ports);
  return event;
}

function toPorts(value, prefix) {
  if (value === undefined) return emptyPorts;
  if (value === null || typeof value !== "object" || typeof value[SymbolIterator] !== "function") {
    throw new TypeErrorCtor(`${prefix}: 'ports' is not a sequence.`);
  }
  // The sequence is iterated with its own iterator (WebIDL); the array it fills is the event's.
  const ports = [...value];
  for (let i = 0; i < ports.length; i++) {
    if (!isMessagePort(ports[i])) {
      throw new TypeErrorCtor(`${prefix}: 'ports' contains a value that is not a MessagePort.`);
    }
  }
  return ports.length === 0 ? emptyPorts : ObjectFreeze(ports);
}

function toSource(value, prefix) {
  if (value === undefined || value === null) return null;
  if (!isMessagePort(value)) {
    throw new TypeErrorCtor(`${prefix}: 'source' is not a MessagePort.`);
  }
  return value;
}

export class MessageEvent extends Event {
  #data;
  #origin;
  #lastEventId;
  #source;
  #ports;

  // @startup
  constructor(type, eventInitDict = undefined) {
    if (eventInitDict === TRUSTED_INIT) {
      super(type, TRUSTED_INIT);
      this.#data = trustedData;
      this.#origin = "";
      this.#lastEventId = "";
      this.#source = null;
      this.#ports = emptyPorts;
      return;
    }
    const prefix = "Failed to construct 'MessageEvent'";
    requiredArguments(arguments.length, 1, prefix);
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, prefix);
    this.#data = init.data === undefined ? null : init.data;
    this.#lastEventId = init.lastEventId === undefined ? "" : toDOMString(init.lastEventId);
    this.#origin = init.origin === undefined ? "" : toUSVString(init.origin);
    this.#ports = toPorts(init.ports, prefix);
    this.#source = toSource(init.source, prefix);
  }

  // @startup
  #check() {
    if (!(#data in this)) throw illegalInvocation();
  }

  static {
    // @startup
    setData = (event, data) => {
      event.#data = data;
    };
    setPorts = (event, ports) => {
      event.#ports = ports;
    };
  }

  // @startup
  get data() {
    this.#check();
    return this.#data;
  }
  get origin() {
    this.#check();
    return this.#origin;
  }
  get lastEventId() {
    this.#check();
    return this.#lastEventId;
  }
  get source() {
    this.#check();
    return this.#source;
  }
  get ports() {
    this.#check();
    return this.#ports;
  }

  initMessageEvent(
    type,
    bubbles = false,
    cancelable = false,
    data = null,
    origin = "",
    lastEventId = "",
    source = null,
    ports = [],
  ) {
    this.#check();
    const prefix = "Failed to execute 'initMessageEvent' on 'MessageEvent'";
    requiredArguments(arguments.length, 1, prefix);
    if (eventInternals.isDispatching(this)) return;
    eventInternals.initialize(this, toDOMString(type), !!bubbles, !!cancelable);
    this.#data = data;
    this.#origin = toUSVString(origin);
    this.#lastEventId = toDOMString(lastEventId);
    this.#source = toSource(source, prefix);
    this.#ports = toPorts(ports, prefix);
  }
}

configureInterface(MessageEvent);
