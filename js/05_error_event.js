// The events that report script errors on the global object: ErrorEvent
// (https://html.spec.whatwg.org/multipage/webappapis.html#errorevent) and PromiseRejectionEvent
// (https://html.spec.whatwg.org/multipage/webappapis.html#promiserejectionevent).

import { TypeErrorCtor } from "v8mc:00_primordials.js";
import { Event } from "v8mc:03_event.js";
import {
  configureInterface,
  illegalInvocation,
  requiredArguments,
  toDictionary,
  toDOMString,
} from "v8mc:01_webidl.js";

export class ErrorEvent extends Event {
  #message;
  #filename;
  #lineno;
  #colno;
  #error;

  constructor(type, eventInitDict = undefined) {
    const prefix = "Failed to construct 'ErrorEvent'";
    requiredArguments(arguments.length, 1, prefix);
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, prefix);
    this.#message = init.message === undefined ? "" : toDOMString(init.message);
    this.#filename = init.filename === undefined ? "" : toDOMString(init.filename);
    this.#lineno = init.lineno === undefined ? 0 : init.lineno >>> 0;
    this.#colno = init.colno === undefined ? 0 : init.colno >>> 0;
    this.#error = init.error;
  }

  #check() {
    if (!(#message in this)) throw illegalInvocation();
  }
  get message() {
    this.#check();
    return this.#message;
  }
  get filename() {
    this.#check();
    return this.#filename;
  }
  get lineno() {
    this.#check();
    return this.#lineno;
  }
  get colno() {
    this.#check();
    return this.#colno;
  }
  get error() {
    this.#check();
    return this.#error;
  }
}

configureInterface(ErrorEvent);

export class PromiseRejectionEvent extends Event {
  #promise;
  #reason;

  constructor(type, eventInitDict = undefined) {
    const prefix = "Failed to construct 'PromiseRejectionEvent'";
    requiredArguments(arguments.length, 2, prefix);
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, prefix);
    if (init.promise === null || typeof init.promise !== "object") {
      throw new TypeErrorCtor(`${prefix}: 'promise' is required and must be an object.`);
    }
    this.#promise = init.promise;
    this.#reason = init.reason;
  }

  get promise() {
    if (!(#promise in this)) throw illegalInvocation();
    return this.#promise;
  }
  get reason() {
    if (!(#promise in this)) throw illegalInvocation();
    return this.#reason;
  }
}

configureInterface(PromiseRejectionEvent);
