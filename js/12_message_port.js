// MessageChannel and MessagePort:
// https://html.spec.whatwg.org/multipage/web-messaging.html#message-channels
//
// A port is a JS EventTarget holding the key of its channel end in Rust (src/ports). Rust owns
// the entanglement, the message queues, the ordering and the transfers; JS owns the events.
// Deviations from the spec (close events, messageerror on a throwing listener) are Workers
// behaviour and are listed in the README.

import { core } from "v8mc:00_core.js";
import { ErrorCtor, newList, ObjectFreeze, SymbolIterator } from "v8mc:00_primordials.js";
import {
  LISTEN_CLOSE,
  LISTEN_MESSAGE,
  POST_NOT_LOCAL,
  TRANSFER_DETACHED_PORT,
  TRANSFER_NOT_A_PORT,
} from "v8mc:00_tables.js";
import { createTrustedEvent, Event } from "v8mc:03_event.js";
import { createMessageEvent, setMessagePortCheck } from "v8mc:04_message_event.js";
import {
  defineEventHandler,
  dispatch,
  EventTarget,
  NO_ERROR,
  setListenerObserver,
  takeListenerError,
} from "v8mc:06_event_target.js";
import { setTransferKeys, toTransferList } from "v8mc:10_structured_clone.js";
import { copyMessage, NOT_COPIED } from "v8mc:11_message_copy.js";
import {
  configureInterface,
  illegalConstructor,
  illegalConstructorKey,
  illegalInvocation,
  requiredArguments,
  toDictionary,
} from "v8mc:01_webidl.js";

const EMPTY = ObjectFreeze([]);

let entangle;
let keyOf;
let detach;
let postPlain;
/** Whether postMessage takes transfer lists (a compatibility flag; off as in workerd). */
let transferAllowed = true;

// @startup
export function setTransferAllowed(allowed) {
  transferAllowed = allowed;
}

export class MessagePort extends EventTarget {
  /** The key of this port's end in Rust, or TRANSFER_DETACHED_PORT once transferred or closed. */
  #key = TRANSFER_DETACHED_PORT;
  /**
   * Whether the peer was in this isolate at the last post: posts then copy the message in JS
   * (js/11_message_copy.js). Only a hint: Rust refuses a copy the peer cannot take.
   */
  #peerHere = false;

  // @startup
  constructor(token = undefined, key = TRANSFER_DETACHED_PORT) {
    if (token !== illegalConstructorKey) throw illegalConstructor();
    super();
    this.#key = key;
  }

  static {
    // @startup
    // Rust gives the keys once both objects exist (it keeps weak references to them).
    entangle = (port, key) => {
      port.#key = key;
      port.#peerHere = true;
    };
    // @startup
    keyOf = (port) => port.#key;
    // @startup
    detach = (port) => {
      port.#key = TRANSFER_DETACHED_PORT;
    };
    // @startup
    /** Posts a message with nothing to transfer: as a JS copy when the peer is here. */
    postPlain = (port, message) => {
      if (port.#peerHere) {
        const copy = copyMessage(message);
        if (copy !== NOT_COPIED) {
          if (core.portPostLocal(port.#key, copy) !== POST_NOT_LOCAL) return;
          // The peer went elsewhere: the copy (plain data) goes through the serializer.
          message = copy;
        }
      }
      port.#peerHere = core.portPost(port.#key, message, EMPTY, EMPTY);
    };
  }

  // @startup
  static isMessagePort(value) {
    return value !== null && typeof value === "object" && #key in value;
  }

  // @startup
  postMessage(message, transferOrOptions = undefined) {
    if (!isMessagePort(this)) throw illegalInvocation();
    const prefix = "Failed to execute 'postMessage' on 'MessagePort'";
    requiredArguments(arguments.length, 1, prefix);
    if (transferOrOptions === undefined) {
      postPlain(this, message);
      return;
    }
    let transfer;
    // WebIDL overload resolution between (any, sequence<object>) and (any, options).
    if (
      transferOrOptions !== null && typeof transferOrOptions === "object" &&
      typeof transferOrOptions[SymbolIterator] === "function"
    ) {
      transfer = toTransferList(transferOrOptions, prefix);
    } else {
      transfer = toTransferList(toDictionary(transferOrOptions, prefix).transfer, prefix);
    }
    if (transfer.length === 0) {
      postPlain(this, message);
      return;
    }
    if (!transferAllowed) throw new ErrorCtor("Transfer list is not supported");
    const keys = transferKeys(transfer);
    this.#peerHere = core.portPost(this.#key, message, transfer, keys);
    detachTransferred(transfer, keys);
  }

  // @startup
  start() {
    if (!isMessagePort(this)) throw illegalInvocation();
    core.portStart(this.#key);
  }

  // @startup
  close() {
    if (!isMessagePort(this)) throw illegalInvocation();
    // HTML: close() detaches the port, then disentangles it.
    const key = this.#key;
    this.#key = TRANSFER_DETACHED_PORT;
    core.portClose(key);
  }
}

const isMessagePort = MessagePort.isMessagePort;
delete MessagePort.isMessagePort;
setMessagePortCheck(isMessagePort);

/** What Rust needs to know of each entry of a transfer list (src/context/messaging.rs). */
function transferKeys(transfer) {
  const keys = newList();
  for (let i = 0; i < transfer.length; i++) {
    const item = transfer[i];
    keys[i] = isMessagePort(item) ? keyOf(item) : TRANSFER_NOT_A_PORT;
  }
  return keys;
}

/** After a successful transfer: the ports that went are detached here. */
function detachTransferred(transfer, keys) {
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] >= 0) detach(transfer[i]);
  }
}
setTransferKeys(transferKeys, detachTransferred);

// @startup
/**
 * Rust keeps a port with message listeners alive, and collects garbage before the loop ends
 * when one listens for close (src/ports): it hears when they come and go.
 */
function observeListeners(target, type, count) {
  if (!isMessagePort(target)) return;
  if (type === "message") core.portListening(keyOf(target), LISTEN_MESSAGE, count > 0);
  else if (type === "close") core.portListening(keyOf(target), LISTEN_CLOSE, count > 0);
}
setListenerObserver(observeListeners);

// @startup
// Setting onmessage starts the port (the spec's "first time onmessage is set" step), whatever
// a script made of MessagePort.prototype.start.
const startPort = (port) => core.portStart(keyOf(port));
defineEventHandler(MessagePort.prototype, "onmessage", isMessagePort, startPort);
defineEventHandler(MessagePort.prototype, "onmessageerror", isMessagePort);
defineEventHandler(MessagePort.prototype, "onclose", isMessagePort);
configureInterface(MessagePort);

export class MessageChannel {
  #port1;
  #port2;

  // @startup
  constructor() {
    const port1 = new MessagePort(illegalConstructorKey);
    const port2 = new MessagePort(illegalConstructorKey);
    const key = core.portPair(port1, port2);
    entangle(port1, key);
    entangle(port2, key + 1);
    this.#port1 = port1;
    this.#port2 = port2;
  }

  // @startup
  get port1() {
    if (!(#port1 in this)) throw illegalInvocation();
    return this.#port1;
  }

  // @startup
  get port2() {
    if (!(#port1 in this)) throw illegalInvocation();
    return this.#port2;
  }
}

configureInterface(MessageChannel);

/** Returned by `core.nextMessage` when a run of deliveries is over. */
export const STOP = ObjectFreeze({ __proto__: null });
/** Delivered in place of a message that could not be rebuilt: a messageerror. */
export const LOST = ObjectFreeze({ __proto__: null });

/** A message's data with the ports it carries (src/context/messaging.rs makes one). */
class WithPorts {
  #data;
  #ports;
  constructor(data, ports) {
    this.#data = data;
    this.#ports = ObjectFreeze(ports);
  }
  static data(value) {
    return value.#data;
  }
  // @startup
  static ports(value) {
    return value !== null && typeof value === "object" && #ports in value ? value.#ports : null;
  }
}

/** Rust calls this to wrap a message with the ports it carries. */
export function withPorts(data, ports) {
  return new WithPorts(data, ports);
}

/** Rust calls this for an end that arrived here: its JS port, disabled (HTML). */
export function newPort(key) {
  return new MessagePort(illegalConstructorKey, key);
}

// @startup
/**
 * Rust calls this for a message task, with the message. Each message is its own task:
 * `core.nextMessage` runs the task's microtask checkpoint, then hands over the next message if
 * the next task is one for this port too (a flood of messages costs one call into JS, not one
 * per message). `more` is false when no such run follows.
 */
export function deliverMessages(port, key, data, more) {
  for (;;) {
    if (data === LOST) {
      dispatch(port, createMessageEvent("messageerror", null));
    } else {
      deliverMessage(port, data);
    }
    if (!more) return;
    data = core.nextMessage(key);
    if (data === STOP) return;
  }
}

// @startup
function deliverMessage(port, data) {
  const ports = WithPorts.ports(data);
  const event = ports === null
    ? createMessageEvent("message", data)
    : createMessageEvent("message", WithPorts.data(data), ports);
  dispatch(port, event, true);
  const error = takeListenerError();
  if (error !== NO_ERROR) {
    // Workers behaviour: a throwing message listener also fires messageerror on the port.
    dispatch(port, createMessageEvent("messageerror", error));
  }
}

// @startup
/** Rust calls this once per port when either side of the channel closes. */
export function deliverClose(port) {
  dispatch(port, createTrustedEvent(Event, "close"));
}
