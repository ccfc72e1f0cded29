// performance: High Resolution Time (https://w3c.github.io/hr-time/) and User Timing marks and
// measures (https://w3c.github.io/user-timing/). The clock is the runtime's: `now()` counts from
// the time origin, the moment the runtime was created, and events take their `timeStamp` from
// it too. Absent: PerformanceObserver, resource, navigation and event timing.

import { core } from "v8mc:00_core.js";
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

const ArrayPrototypeFilter = Array.prototype.filter;
const ArrayPrototypeSort = Array.prototype.sort;
const NumberIsFinite = Number.isFinite;
const ReflectApply = Reflect.apply;

/** https://webidl.spec.whatwg.org/#es-double */
function toDouble(value, prefix, what) {
  const n = +value;
  if (!NumberIsFinite(n)) throw new TypeError(`${prefix}: ${what} is not a finite number.`);
  return n;
}

/** https://w3c.github.io/user-timing/#dfn-process-markoptions-detail */
function cloneDetail(detail) {
  return detail === undefined || detail === null ? null : core.structuredClone(detail, []);
}

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
      if (startTime < 0) throw new TypeError(`${prefix}: startTime cannot be negative.`);
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

/** The user timing entries, in the order they were made. */
let entries = [];

function entriesWhere(test) {
  const found = ReflectApply(ArrayPrototypeFilter, entries, [test]);
  // Chronological by startTime; the sort is stable, so ties keep their order.
  return ReflectApply(ArrayPrototypeSort, found, [(a, b) => a.startTime - b.startTime]);
}

function clearEntries(entryType, name) {
  entries = ReflectApply(ArrayPrototypeFilter, entries, [
    (entry) => entry.entryType !== entryType || (name !== undefined && entry.name !== name),
  ]);
}

/** https://w3c.github.io/user-timing/#convert-a-mark-to-a-timestamp */
function markToTimestamp(mark, prefix) {
  if (typeof mark === "string") {
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entry.entryType === "mark" && entry.name === mark) return entry.startTime;
    }
    throw new DOMException(`${prefix}: The mark '${mark}' does not exist.`, "SyntaxError");
  }
  const time = toDouble(mark, prefix, "a mark's time");
  if (time < 0) throw new TypeError(`${prefix}: a mark's time cannot be negative.`);
  return time;
}

/** A mark given as a string or a timestamp (`DOMString or DOMHighResTimeStamp`). */
function toMark(value) {
  return typeof value === "number" ? value : toDOMString(value);
}

export class Performance extends EventTarget {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw illegalConstructor();
    super();
  }

  now() {
    if (!(this instanceof Performance)) throw illegalInvocation();
    return core.now();
  }

  get timeOrigin() {
    if (!(this instanceof Performance)) throw illegalInvocation();
    return core.timeOrigin();
  }

  toJSON() {
    if (!(this instanceof Performance)) throw illegalInvocation();
    return { timeOrigin: core.timeOrigin() };
  }

  // https://w3c.github.io/user-timing/#mark-method
  mark(markName, markOptions = undefined) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'mark' on 'Performance'");
    const entry = new PerformanceMark(markName, markOptions);
    entries[entries.length] = entry;
    return entry;
  }

  // https://w3c.github.io/user-timing/#measure-method
  measure(measureName, startOrMeasureOptions = undefined, endMark = undefined) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    const prefix = "Failed to execute 'measure' on 'Performance'";
    requiredArguments(arguments.length, 1, prefix);
    const name = toDOMString(measureName);
    let options = null;
    if (startOrMeasureOptions !== null && typeof startOrMeasureOptions === "object") {
      const { start, end, duration, detail } = startOrMeasureOptions;
      options = { start, end, duration, detail };
      if (start !== undefined || end !== undefined || duration !== undefined || detail !== undefined) {
        if (endMark !== undefined) {
          throw new TypeError(`${prefix}: an end mark cannot be given with measure options.`);
        }
        if (start === undefined && end === undefined) {
          throw new TypeError(`${prefix}: measure options need a start or an end.`);
        }
        if (start !== undefined && end !== undefined && duration !== undefined) {
          throw new TypeError(`${prefix}: measure options cannot have start, end and duration.`);
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
    entries[entries.length] = entry;
    return entry;
  }

  clearMarks(markName = undefined) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    clearEntries("mark", markName === undefined ? undefined : toDOMString(markName));
  }

  clearMeasures(measureName = undefined) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    clearEntries("measure", measureName === undefined ? undefined : toDOMString(measureName));
  }

  getEntries() {
    if (!(this instanceof Performance)) throw illegalInvocation();
    return entriesWhere(() => true);
  }

  getEntriesByType(type) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'getEntriesByType' on 'Performance'");
    type = toDOMString(type);
    return entriesWhere((entry) => entry.entryType === type);
  }

  getEntriesByName(name, type = undefined) {
    if (!(this instanceof Performance)) throw illegalInvocation();
    requiredArguments(arguments.length, 1, "Failed to execute 'getEntriesByName' on 'Performance'");
    name = toDOMString(name);
    type = type === undefined ? undefined : toDOMString(type);
    return entriesWhere((entry) => entry.name === name && (type === undefined || entry.entryType === type));
  }
}
configureInterface(Performance);

export const performance = new Performance(illegalConstructorKey);
