// DOMException: https://webidl.spec.whatwg.org/#idl-DOMException
//
// It extends Error so that it has [[ErrorData]] (Error.isError, a `stack`), while `name`,
// `message` and `code` stay accessors on the prototype as WebIDL wants.

import { ErrorCtor, ReflectConstruct, SafeWeakMap, TypeErrorCtor } from "v8mc:00_primordials.js";
import { configureInterface, illegalInvocation, toDOMString } from "v8mc:01_webidl.js";

// https://webidl.spec.whatwg.org/#dfn-error-names-table
const legacyCodes = {
  __proto__: null,
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InUseAttributeError: 10,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

const constants = {
  INDEX_SIZE_ERR: 1,
  DOMSTRING_SIZE_ERR: 2,
  HIERARCHY_REQUEST_ERR: 3,
  WRONG_DOCUMENT_ERR: 4,
  INVALID_CHARACTER_ERR: 5,
  NO_DATA_ALLOWED_ERR: 6,
  NO_MODIFICATION_ALLOWED_ERR: 7,
  NOT_FOUND_ERR: 8,
  NOT_SUPPORTED_ERR: 9,
  INUSE_ATTRIBUTE_ERR: 10,
  INVALID_STATE_ERR: 11,
  SYNTAX_ERR: 12,
  INVALID_MODIFICATION_ERR: 13,
  NAMESPACE_ERR: 14,
  INVALID_ACCESS_ERR: 15,
  VALIDATION_ERR: 16,
  TYPE_MISMATCH_ERR: 17,
  SECURITY_ERR: 18,
  NETWORK_ERR: 19,
  ABORT_ERR: 20,
  URL_MISMATCH_ERR: 21,
  QUOTA_EXCEEDED_ERR: 22,
  TIMEOUT_ERR: 23,
  INVALID_NODE_TYPE_ERR: 24,
  DATA_CLONE_ERR: 25,
};

// Instance state by object. DOMException is a plain function rather than a class so that the
// interface object inherits from Function.prototype (WebIDL) while instances are real Error
// objects made by Reflect.construct (they get [[ErrorData]] and a stack).
const states = new SafeWeakMap();

function stateOf(value) {
  const state = states.get(value);
  if (state === undefined) throw illegalInvocation();
  return state;
}

export function DOMException(message = "", options = "Error") {
  if (new.target === undefined) {
    throw new TypeErrorCtor("Failed to construct 'DOMException': Please use the 'new' operator.");
  }
  const self = ReflectConstruct(ErrorCtor, [], new.target);
  // Every field is set here: a later write to a missing one would go through Object.prototype.
  const state = { message: toDOMString(message), name: "Error", cause: undefined, code: 0 };
  if (options !== null && typeof options === "object") {
    const cause = options.cause;
    const hasCause = "cause" in options;
    const name = options.name;
    state.name = name === undefined ? "Error" : toDOMString(name);
    if (hasCause) state.cause = cause;
  } else {
    state.name = toDOMString(options);
  }
  state.code = legacyCodes[state.name] ?? 0;
  states.set(self, state);
  return self;
}

Reflect.setPrototypeOf(DOMException.prototype, Error.prototype);
Reflect.defineProperty(DOMException, "prototype", { writable: false });
for (const key of ["message", "name", "code", "cause"]) {
  Reflect.defineProperty(DOMException.prototype, key, {
    get: {
      [key]() {
        return stateOf(this)[key];
      },
    }[key],
    enumerable: true,
    configurable: true,
  });
}
for (const key of ["message", "name", "code", "cause"]) {
  const getter = Reflect.getOwnPropertyDescriptor(DOMException.prototype, key).get;
  Reflect.defineProperty(getter, "name", { value: `get ${key}` });
}

configureInterface(DOMException, constants);
