// URL and URLSearchParams: https://url.spec.whatwg.org/#api
//
// The parsing, the component setters and application/x-www-form-urlencoded are the url crate's
// (src/web_url.rs); JS keeps the components of each URL and the name-value list of its query.

import { core } from "v8mc:00_core.js";
import {
  listPush,
  newList,
  ObjectSetPrototypeOf,
  ReflectApply,
  ReflectGetOwnPropertyDescriptor,
  ReflectOwnKeys,
  SafeWeakMap,
  SymbolIterator,
  TypeErrorCtor,
} from "v8mc:00_primordials.js";
import {
  configureInterface,
  illegalInvocation,
  requiredArguments,
  toUSVString,
} from "v8mc:01_webidl.js";

const ArrayPrototype = Array.prototype;
const ObjectCreate = Object.create;
const StringPrototypeSlice = String.prototype.slice;
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

/** `url`'s components after its setter `name` ran; URLSearchParams reaches URL through it. */
let setComponent;

export class URL {
  /** The components, by getter name, as src/web_url.rs gives them. */
  #parts;
  #searchParams;

  constructor(url, base = undefined) {
    const prefix = "Failed to construct 'URL'";
    requiredArguments(arguments.length, 1, prefix);
    const parts = parse(url, base);
    if (parts === null) throw new TypeErrorCtor(`${prefix}: Invalid URL`);
    this.#parts = parts;
    this.#searchParams = newSearchParams(this, parts.search);
  }

  static canParse(url, base = undefined) {
    requiredArguments(arguments.length, 1, "Failed to execute 'canParse' on 'URL'");
    return parse(url, base) !== null;
  }

  static parse(url, base = undefined) {
    requiredArguments(arguments.length, 1, "Failed to execute 'parse' on 'URL'");
    return parse(url, base) === null ? null : new URL(url, base);
  }

  #check() {
    if (!(#parts in this)) throw illegalInvocation();
  }

  #set(name, value) {
    this.#check();
    this.#parts = core.urlSet(this.#parts.href, name, toUSVString(value));
    if (name === "href" || name === "search") resetList(this.#searchParams, this.#parts.search);
  }

  static {
    setComponent = (url, name, value) => url.#set(name, value);
  }

  get href() {
    this.#check();
    return this.#parts.href;
  }
  set href(value) {
    this.#set("href", value);
  }
  get origin() {
    this.#check();
    return this.#parts.origin;
  }
  get protocol() {
    this.#check();
    return this.#parts.protocol;
  }
  set protocol(value) {
    this.#set("protocol", value);
  }
  get username() {
    this.#check();
    return this.#parts.username;
  }
  set username(value) {
    this.#set("username", value);
  }
  get password() {
    this.#check();
    return this.#parts.password;
  }
  set password(value) {
    this.#set("password", value);
  }
  get host() {
    this.#check();
    return this.#parts.host;
  }
  set host(value) {
    this.#set("host", value);
  }
  get hostname() {
    this.#check();
    return this.#parts.hostname;
  }
  set hostname(value) {
    this.#set("hostname", value);
  }
  get port() {
    this.#check();
    return this.#parts.port;
  }
  set port(value) {
    this.#set("port", value);
  }
  get pathname() {
    this.#check();
    return this.#parts.pathname;
  }
  set pathname(value) {
    this.#set("pathname", value);
  }
  get search() {
    this.#check();
    return this.#parts.search;
  }
  set search(value) {
    this.#set("search", value);
  }
  get searchParams() {
    this.#check();
    return this.#searchParams;
  }
  get hash() {
    this.#check();
    return this.#parts.hash;
  }
  set hash(value) {
    this.#set("hash", value);
  }
  toString() {
    this.#check();
    return this.#parts.href;
  }
  toJSON() {
    this.#check();
    return this.#parts.href;
  }
}
configureInterface(URL);

function parse(url, base) {
  return core.urlParse(toUSVString(url), base === undefined ? undefined : toUSVString(base));
}

/** The list a URLSearchParams keeps: [name, value, name, value, ...] (a newList). */
function listOf(query) {
  if (query === "") return newList();
  const body = query[0] === "?" ? ReflectApply(StringPrototypeSlice, query, [1]) : query;
  return ObjectSetPrototypeOf(core.formParse(body), null);
}

/** Appends a name-value pair to a list. */
function pushPair(list, name, value) {
  listPush(list, name);
  listPush(list, value);
}

let newSearchParams;
let resetList;
/** The pair at `index` of a URLSearchParams' list, or null past its end. */
let pairAt;

export class URLSearchParams {
  /** Names and values, flat: [name0, value0, name1, value1, ...]. */
  #list = newList();
  /** The URL whose query this is, or null. */
  #url = null;

  // https://url.spec.whatwg.org/#dom-urlsearchparams-urlsearchparams
  constructor(init = "") {
    const prefix = "Failed to construct 'URLSearchParams'";
    if (init !== null && (typeof init === "object" || typeof init === "function")) {
      if (init[SymbolIterator] !== undefined) {
        if (typeof init[SymbolIterator] !== "function") {
          throw new TypeErrorCtor(`${prefix}: The object's Symbol.iterator is not a function.`);
        }
        for (const pair of init) {
          if (pair === null || typeof pair !== "object" || typeof pair[SymbolIterator] !== "function") {
            throw new TypeErrorCtor(`${prefix}: Each pair must be an iterable [name, value] sequence.`);
          }
          // Each pair is a sequence, iterated with its own iterator (WebIDL).
          const items = [...pair];
          if (items.length !== 2) {
            throw new TypeErrorCtor(`${prefix}: Each pair must have exactly two items.`);
          }
          pushPair(this.#list, toUSVString(items[0]), toUSVString(items[1]));
        }
      } else {
        // A record<USVString, USVString>: own enumerable keys, in order.
        const keys = ReflectOwnKeys(init);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          const descriptor = ReflectGetOwnPropertyDescriptor(init, key);
          if (descriptor === undefined || !descriptor.enumerable) continue;
          pushPair(this.#list, toUSVString(key), toUSVString(init[key]));
        }
      }
    } else {
      this.#list = listOf(toUSVString(init));
    }
  }

  static {
    newSearchParams = (url, query) => {
      const params = new URLSearchParams();
      params.#list = listOf(query);
      params.#url = url;
      return params;
    };
    resetList = (params, query) => {
      params.#list = listOf(query);
    };
  }

  #check() {
    if (!(#list in this)) throw illegalInvocation();
  }

  // https://url.spec.whatwg.org/#concept-urlsearchparams-update
  #update() {
    if (this.#url === null) return;
    const query = core.formSerialize(this.#list);
    setComponent(this.#url, "search", query);
  }

  get size() {
    this.#check();
    return this.#list.length / 2;
  }

  append(name, value) {
    this.#check();
    requiredArguments(arguments.length, 2, "Failed to execute 'append' on 'URLSearchParams'");
    pushPair(this.#list, toUSVString(name), toUSVString(value));
    this.#update();
  }

  delete(name, value = undefined) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'delete' on 'URLSearchParams'");
    name = toUSVString(name);
    if (value !== undefined) value = toUSVString(value);
    const kept = newList();
    for (let i = 0; i < this.#list.length; i += 2) {
      if (this.#list[i] === name && (value === undefined || this.#list[i + 1] === value)) continue;
      pushPair(kept, this.#list[i], this.#list[i + 1]);
    }
    this.#list = kept;
    this.#update();
  }

  get(name) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'get' on 'URLSearchParams'");
    name = toUSVString(name);
    for (let i = 0; i < this.#list.length; i += 2) {
      if (this.#list[i] === name) return this.#list[i + 1];
    }
    return null;
  }

  getAll(name) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'getAll' on 'URLSearchParams'");
    name = toUSVString(name);
    const values = newList();
    for (let i = 0; i < this.#list.length; i += 2) {
      if (this.#list[i] === name) listPush(values, this.#list[i + 1]);
    }
    return ObjectSetPrototypeOf(values, ArrayPrototype);
  }

  has(name, value = undefined) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'has' on 'URLSearchParams'");
    name = toUSVString(name);
    if (value !== undefined) value = toUSVString(value);
    for (let i = 0; i < this.#list.length; i += 2) {
      if (this.#list[i] === name && (value === undefined || this.#list[i + 1] === value)) {
        return true;
      }
    }
    return false;
  }

  set(name, value) {
    this.#check();
    requiredArguments(arguments.length, 2, "Failed to execute 'set' on 'URLSearchParams'");
    name = toUSVString(name);
    value = toUSVString(value);
    const list = newList();
    let found = false;
    for (let i = 0; i < this.#list.length; i += 2) {
      if (this.#list[i] !== name) {
        pushPair(list, this.#list[i], this.#list[i + 1]);
      } else if (!found) {
        found = true;
        pushPair(list, name, value);
      }
    }
    if (!found) pushPair(list, name, value);
    this.#list = list;
    this.#update();
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-sort: stable, by the names' code units.
  sort() {
    this.#check();
    // An insertion sort of the pairs: stable, and lists are short.
    const list = this.#list;
    for (let i = 2; i < list.length; i += 2) {
      const name = list[i];
      const value = list[i + 1];
      let j = i;
      while (j > 0 && list[j - 2] > name) {
        list[j] = list[j - 2];
        list[j + 1] = list[j - 1];
        j -= 2;
      }
      list[j] = name;
      list[j + 1] = value;
    }
    this.#update();
  }

  toString() {
    this.#check();
    return core.formSerialize(this.#list);
  }

  forEach(callback, thisArg = undefined) {
    this.#check();
    requiredArguments(arguments.length, 1, "Failed to execute 'forEach' on 'URLSearchParams'");
    if (typeof callback !== "function") {
      throw new TypeErrorCtor("Failed to execute 'forEach' on 'URLSearchParams': not a function.");
    }
    for (let i = 0; i < this.#list.length; i += 2) {
      ReflectApply(callback, thisArg, [this.#list[i + 1], this.#list[i], this]);
    }
  }

  entries() {
    this.#check();
    return newIterator(this, "entries");
  }
  keys() {
    this.#check();
    return newIterator(this, "keys");
  }
  values() {
    this.#check();
    return newIterator(this, "values");
  }

  static {
    // A live iterator: it reads the list as it is at each step.
    pairAt = (params, index) =>
      index * 2 < params.#list.length ? [params.#list[index * 2], params.#list[index * 2 + 1]] : null;
  }
}

Reflect.defineProperty(URLSearchParams.prototype, SymbolIterator, {
  value: URLSearchParams.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});
configureInterface(URLSearchParams);

// https://webidl.spec.whatwg.org/#es-default-iterator-object
const iterators = new SafeWeakMap();
const URLSearchParamsIteratorPrototype = ObjectCreate(IteratorPrototype, {
  next: {
    value: function next() {
      const state = iterators.get(this);
      if (state === undefined) throw illegalInvocation();
      const pair = pairAt(state.target, state.index);
      if (pair === null) return { value: undefined, done: true };
      state.index++;
      const value = state.kind === "keys" ? pair[0] : state.kind === "values" ? pair[1] : pair;
      return { value, done: false };
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: "URLSearchParams Iterator", configurable: true },
});

function newIterator(target, kind) {
  const iterator = ObjectCreate(URLSearchParamsIteratorPrototype);
  iterators.set(iterator, { target, kind, index: 0 });
  return iterator;
}
