// MessageChannel and MessagePort:
// https://html.spec.whatwg.org/multipage/web-messaging.html#message-channels
//
// A port is a JS EventTarget holding the id of its Rust half (src/messaging). Rust owns the
// entanglement, the message queues and the ordering; JS owns the events. Deviations from the
// spec (close events, messageerror on a throwing listener) are Workers behaviour and are listed
// in the README.

import { core } from "v8mc:00_core.js";
import { createTrustedEvent, Event } from "v8mc:03_event.js";
import { createMessageEvent, setMessagePortCheck } from "v8mc:04_message_event.js";
import {
  defineEventHandler,
  dispatch,
  EventTarget,
  NO_ERROR,
  takeListenerError,
} from "v8mc:06_event_target.js";
import { toTransferList } from "v8mc:10_structured_clone.js";
import {
  clearTape,
  decodeMessage,
  encodeMessage,
  newTape,
  SERIALIZE,
  unwriteLast,
} from "v8mc:11_message_tape.js";
import {
  configureInterface,
  illegalConstructor,
  illegalConstructorKey,
  illegalInvocation,
  requiredArguments,
  toDictionary,
} from "v8mc:01_webidl.js";

let entangle;
let takeTapeMessage;
/** Rust calls this when a port's peer was collected: what was posted to it is let go. */
export let forgetPeer;
let postPlain;

export class MessagePort extends EventTarget {
  #id;
  /** Plain-data messages posted to this port (js/11_message_tape.js). */
  #inbox = newTape();
  /** The peer's inbox; null once posting can no longer reach the peer. */
  #outbox = null;

  // @startup
  constructor(key = undefined, id = undefined) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    super();
    this.#id = id;
  }

  static {
    // @startup
    // Rust assigns the ids once both objects exist (it keeps weak references to them).
    entangle = (port, id, peer) => {
      port.#id = id;
      port.#outbox = peer.#inbox;
    };
    // @startup
    takeTapeMessage = (port, side) => decodeMessage(port.#inbox, side);
    forgetPeer = (port) => {
      port.#outbox = null;
    };
  }

  // @startup
  static isMessagePort(value) {
    return value !== null && typeof value === "object" && #id in value;
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
      typeof transferOrOptions[Symbol.iterator] === "function"
    ) {
      transfer = toTransferList(transferOrOptions, prefix);
    } else {
      transfer = toTransferList(toDictionary(transferOrOptions, prefix).transfer, prefix);
    }
    if (transfer.length === 0) postPlain(this, message);
    else core.portPost(this.#id, message, transfer);
  }

  static {
    // @startup
    /** Posts a message with nothing to transfer: objects on the peer's tape where possible. */
    postPlain = (port, message) => {
      const outbox = port.#outbox;
      // Primitives are cheaper in Rust's own queue (src/clone.rs); objects go on the tape.
      if (outbox !== null && typeof message === "object" && message !== null) {
        const side = encodeMessage(message, outbox);
        if (side !== SERIALIZE) {
          // Right behind a tape post of this port, Rust's queues end with that post's entries,
          // so this one only needs counting (Rust adds them before it next looks at a queue).
          if (side === undefined && pendingPosts[0] === port.#id && pendingPosts[1] < PENDING_MAX) {
            pendingPosts[1]++;
            return;
          }
          let queued;
          try {
            queued = core.portPostTape(port.#id, side);
          } catch (error) {
            // The side list could not be serialized: the message is not sent.
            unwriteLast(outbox);
            throw error;
          }
          if (!queued) {
            // Dropped: the pair is disentangled for good, so the peer's tape is not needed.
            unwriteLast(outbox);
            port.#outbox = null;
          }
          return;
        }
      }
      core.portPost(port.#id, message);
    };
  }

  // @startup
  start() {
    if (!isMessagePort(this)) throw illegalInvocation();
    core.portStart(this.#id);
  }

  // @startup
  close() {
    if (!isMessagePort(this)) throw illegalInvocation();
    core.portClose(this.#id);
    // Rust dropped this port's queued messages; their tape entries go too.
    clearTape(this.#inbox);
    this.#outbox = null;
  }
}

const isMessagePort = MessagePort.isMessagePort;
delete MessagePort.isMessagePort;
setMessagePortCheck(isMessagePort);

// @startup
// Setting onmessage starts the port (the spec's "first time onmessage is set" step).
const startPort = (port) => port.start();
defineEventHandler(MessagePort.prototype, "onmessage", isMessagePort, startPort);
defineEventHandler(MessagePort.prototype, "onmessageerror", isMessagePort);
defineEventHandler(MessagePort.prototype, "onclose", isMessagePort);
configureInterface(MessagePort);

export class MessageChannel {
  #port1;
  #port2;

  // @startup
  constructor() {
    const port1 = new MessagePort(illegalConstructorKey, 0);
    const port2 = new MessagePort(illegalConstructorKey, 0);
    const id = core.portPair(port1, port2);
    entangle(port1, id, port2);
    entangle(port2, id + 1, port1);
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

// How a message reaches deliverMessages: src/event_loop.rs `Delivery`.
const VALUE = 0;
const TAPE = 1;
const TAPE_LOST = 2;
const SKIP = 4;
const STOP = 5;

/** Where `core.nextMessage` says how to deliver the message it returns. */
export const deliveryKind = new Int32Array(1);

/**
 * Tape posts made without a call into Rust: [sender port id, count]. `core.portPostTape` puts
 * the id of its sender in slot 0 when the post it queued is the last entry of Rust's queues;
 * until Rust touches a queue again (and then first queues `count` more posts of that sender,
 * see src/messaging), further tape posts of the same port only add to the count. Rust resets
 * both slots whenever it takes them over.
 */
export const pendingPosts = new Int32Array(2);
const PENDING_MAX = 0x3fffffff;

// @startup
/**
 * Rust calls this for a message task, with the message and how to deliver it. Each message is
 * its own task: `core.nextMessage` runs the task's microtask checkpoint, then hands over the
 * next message if the next task is one for this port too (a flood of messages costs one call
 * into JS, not one per message). `more` is false when no such run follows.
 */
export function deliverMessages(port, id, data, kind, more) {
  for (;;) {
    if (kind === VALUE) {
      deliverMessage(port, data);
    } else if (kind === TAPE) {
      deliverMessage(port, takeTapeMessage(port, data));
    } else if (kind !== SKIP) {
      // The message could not be rebuilt (its tape entries go all the same).
      if (kind === TAPE_LOST) takeTapeMessage(port, undefined);
      dispatch(port, createMessageEvent("messageerror", null));
    }
    if (!more) return;
    data = core.nextMessage(id);
    kind = deliveryKind[0];
    if (kind === STOP) return;
  }
}

// @startup
function deliverMessage(port, data) {
  dispatch(port, createMessageEvent("message", data), true);
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
