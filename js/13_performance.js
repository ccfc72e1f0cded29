// performance: High Resolution Time (https://w3c.github.io/hr-time/) and User Timing marks and
// measures (https://w3c.github.io/user-timing/). The clock is the runtime's: `now()` counts from
// the time origin, the moment the runtime was created, and events take their `timeStamp` from
// it too. Absent: PerformanceObserver, resource, navigation and event timing.

import { core } from "v8mc:00_core.js";
import {
  listPush,
  newList,
  NumberIsFinite,
  ObjectSetPrototypeOf,
  TypeErrorCtor,
} from "v8mc:00_primordials.js";
import { DOMException } from "v8mc:02_dom_exception.js";
import { EventTarget } from "v8mc:06_event_target.js";
import {
  configureInterface,
  illegalConstructor,
  illegalConstructorKey,
  illegalInvocation,
  requiredArguments,
  toDictionary,
  toDOMString,
} from "v8mc:01_webidl.js";

const ArrayPrototype = Array.prototype;

/** https://webidl.spec.whatwg.org/#es-double */
function toDouble(value, prefix, what) {
  const n = +value;
  if (!NumberIsFinite(n)) throw new TypeErrorCtor(`${prefix}: ${what} is not a finite number.`);
  return n;
}

/** https://w3c.github.io/user-timing/#dfn-process-markoptions-detail */
function cloneDetail(detail) {
  return detail === undefined || detail === null ? null : core.structuredClone(detail, []);
}

let entryName;
let entryTypeOf;
let entryStart;

export class PerformanceEntry {
  #name;
  #entryType;
  #startTime;
  #duration;

  constructor(key = undefined, name, entryType, startTime, duration) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    this.#name = name;
    this.#entryType = entryType;
    this.#startTime = startTime;
    this.#duration = duration;
  }

  #check() {
    if (!(#name in this)) throw illegalInvocation();
  }
  static {
    // The entries' own state, for the internals (a script may redefine the getters).
    entryName = (entry) => entry.#name;
    entryTypeOf = (entry) => entry.#entryType;
    entryStart = (entry) => entry.#startTime;
  }
  get name() {
    this.#check();
    return this.#name;
  }
  get entryType() {
    this.#check();
    return this.#entryType;
  }
  get startTime() {
    this.#check();
    return this.#startTime;
  }
  get duration() {
    this.#check();
    return this.#duration;
  }
  toJSON() {
    this.#check();
    return {
      name: this.#name,
      entryType: this.#entryType,
      startTime: this.#startTime,
      duration: this.#duration,
    };
  }
}
configureInterface(PerformanceEntry);

export class PerformanceMark extends PerformanceEntry {
  #detail;

  // https://w3c.github.io/user-timing/#the-performancemark-constructor
  constructor(markName, markOptions = undefined) {
    const prefix = "Failed to construct 'PerformanceMark'";
    requiredArguments(arguments.length, 1, prefix);
    const name = toDOMString(markName);
    const options = toDictionary(markOptions, prefix);
    let startTime = core.now();
    if (options.startTime !== undefined) {
      startTime = toDouble(options.startTime, prefix, "startTime");
      if (startTime < 0) throw new TypeErrorCtor(`${prefix}: startTime cannot be negative.`);
    }
    super(illegalConstructorKey, name, "mark", startTime, 0);
    this.#detail = cloneDetail(options.detail);
  }

  get detail() {
    if (!(#detail in this)) throw illegalInvocation();
    return this.#detail;
  }
}
configureInterface(PerformanceMark);

export class PerformanceMeasure extends PerformanceEntry {
  #detail;

  constructor(key = undefined, name, startTime, duration, detail) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    super(key, name, "measure", startTime, duration);
    this.#detail = detail;
  }

  get detail() {
    if (!(#detail in this)) throw illegalInvocation();
    return this.#detail;
  }
}
configureInterface(PerformanceMeasure);

/** The user timing entries, in the order they were made (a list of newList). */
let entries = newList();

/** The entries that pass `test`, as an array for the script, by startTime (stable). */
function entriesWhere(test) {
  const found = newList();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!test(entry)) continue;
    // Insertion keeps ties in the order they were made.
    let j = found.length;
    while (j > 0 && entryStart(found[j - 1]) > entryStart(entry)) {
      found[j] = found[j - 1];
      j--;
    }
    found[j] = entry;
  }
  return ObjectSetPrototypeOf(found, ArrayPrototype);
}

function clearEntries(entryType, name) {
  const kept = newList();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (entryTypeOf(entry) !== entryType || (name !== undefined && entryName(entry) !== name)) {
      listPush(kept, entry);
    }
  }
  entries = kept;
}

/** https://w3c.github.io/user-timing/#convert-a-mark-to-a-timestamp */
function markToTimestamp(mark, prefix) {
  if (typeof mark === "string") {
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entryTypeOf(entry) === "mark" && entryName(entry) === mark) return entryStart(entry);
    }
    throw new DOMException(`${prefix}: The mark '${mark}' does not exist.`, "SyntaxError");
  }
  const time = toDouble(mark, prefix, "a mark's time");
  if (time < 0) throw new TypeErrorCtor(`${prefix}: a mark's time cannot be negative.`);
  return time;
}

/** A mark given as a string or a timestamp (`DOMString or DOMHighResTimeStamp`). */
function toMark(value) {
  return typeof value === "number" ? value : toDOMString(value);
}

let isPerformance;

export class Performance extends EventTarget {
  #brand = true;

  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    super();
  }

  static {
    isPerformance = (value) => value !== null && typeof value === "object" && #brand in value;
  }

  now() {
    if (!isPerformance(this)) throw illegalInvocation();
    return core.now();
  }

  get timeOrigin() {
    if (!isPerformance(this)) throw illegalInvocation();
    return core.timeOrigin();
  }

  toJSON() {
    if (!isPerformance(this)) throw illegalInvocation();
    return { timeOrigin: core.timeOrigin() };
  }

  // https://w3c.github.io/user-timing/#mark-method
  mark(markName, markOptions = undefined) {
    if (!isPerformance(this)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'mark' on 'Performance'");
    const entry = new PerformanceMark(markName, markOptions);
    listPush(entries, entry);
    return entry;
  }

  // https://w3c.github.io/user-timing/#measure-method
  measure(measureName, startOrMeasureOptions = undefined, endMark = undefined) {
    if (!isPerformance(this)) throw illegalInvocation();
    const prefix = "Failed to execute 'measure' on 'Performance'";
    requiredArguments(arguments.length, 1, prefix);
    const name = toDOMString(measureName);
    let options = null;
    if (startOrMeasureOptions !== null && typeof startOrMeasureOptions === "object") {
      const { start, end, duration, detail } = startOrMeasureOptions;
      options = { start, end, duration, detail };
      if (start !== undefined || end !== undefined || duration !== undefined || detail !== undefined) {
        if (endMark !== undefined) {
          throw new TypeErrorCtor(`${prefix}: an end mark cannot be given with measure options.`);
        }
        if (start === undefined && end === undefined) {
          throw new TypeErrorCtor(`${prefix}: measure options need a start or an end.`);
        }
        if (start !== undefined && end !== undefined && duration !== undefined) {
          throw new TypeErrorCtor(`${prefix}: measure options cannot have start, end and duration.`);
        }
      }
    }
    const durationOf = () => toDouble(options.duration, prefix, "duration");
    let endTime;
    if (endMark !== undefined) {
      endTime = markToTimestamp(toMark(endMark), prefix);
    } else if (options !== null && options.end !== undefined) {
      endTime = markToTimestamp(toMark(options.end), prefix);
    } else if (options !== null && options.start !== undefined && options.duration !== undefined) {
      endTime = markToTimestamp(toMark(options.start), prefix) + durationOf();
    } else {
      endTime = core.now();
    }
    let startTime;
    if (options !== null && options.start !== undefined) {
      startTime = markToTimestamp(toMark(options.start), prefix);
    } else if (options !== null && options.duration !== undefined && options.end !== undefined) {
      startTime = endTime - durationOf();
    } else if (options === null && startOrMeasureOptions !== undefined) {
      startTime = markToTimestamp(toMark(startOrMeasureOptions), prefix);
    } else {
      startTime = 0;
    }
    const detail = cloneDetail(options === null ? undefined : options.detail);
    const entry = new PerformanceMeasure(
      illegalConstructorKey,
      name,
      startTime,
      endTime - startTime,
      detail,
    );
    listPush(entries, entry);
    return entry;
  }

  clearMarks(markName = undefined) {
    if (!isPerformance(this)) throw illegalInvocation();
    clearEntries("mark", markName === undefined ? undefined : toDOMString(markName));
  }

  clearMeasures(measureName = undefined) {
    if (!isPerformance(this)) throw illegalInvocation();
    clearEntries("measure", measureName === undefined ? undefined : toDOMString(measureName));
  }

  getEntries() {
    if (!isPerformance(this)) throw illegalInvocation();
    return entriesWhere(() => true);
  }

  getEntriesByType(type) {
    if (!isPerformance(this)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'getEntriesByType' on 'Performance'");
    type = toDOMString(type);
    return entriesWhere((entry) => entryTypeOf(entry) === type);
  }

  getEntriesByName(name, type = undefined) {
    if (!isPerformance(this)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'getEntriesByName' on 'Performance'");
    name = toDOMString(name);
    type = type === undefined ? undefined : toDOMString(type);
    return entriesWhere(
      (entry) => entryName(entry) === name && (type === undefined || entryTypeOf(entry) === type),
    );
  }
}
configureInterface(Performance);

export const performance = new Performance(illegalConstructorKey);
