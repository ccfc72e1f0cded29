//! `performance`: the runtime's clock (now, timeOrigin, event time stamps) and user timing.

use crate::setup::assert_prints;

#[test]
fn now_is_monotonic_sub_millisecond_and_counts_from_the_time_origin() {
  assert_prints(
    r#"
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    console.log(typeof a, a >= 0, b > a, b - a < 1);
    // Sub-millisecond: some reading within a few iterations is not a whole number.
    let fractional = false;
    for (let i = 0; i < 100 && !fractional; i++) fractional = performance.now() % 1 !== 0;
    console.log("fractional", fractional);
    const origin = performance.timeOrigin;
    console.log(origin > Date.UTC(2025, 0, 1), Math.abs(origin + performance.now() - Date.now()) < 50);
    console.log(JSON.stringify(performance.toJSON()) === JSON.stringify({ timeOrigin: origin }));
    const e = new Event("x");
    const after = performance.now();
    console.log("event clock", e.timeStamp <= after && e.timeStamp >= b);
    console.log(performance instanceof Performance, performance instanceof EventTarget);
    try { new Performance(); } catch (err) { console.log(err.constructor.name); }
    try { Performance.prototype.now.call({}); } catch (err) { console.log(err.constructor.name); }
    "#,
    &[
      "number true true true",
      "fractional true",
      "true true",
      "true",
      "event clock true",
      "true true",
      "TypeError",
      "TypeError",
    ],
  );
}

#[test]
fn message_events_are_stamped_with_the_same_clock() {
  assert_prints(
    r#"
    const { port1, port2 } = new MessageChannel();
    const before = performance.now();
    port2.onmessage = (e) => {
      const now = performance.now();
      console.log(e.timeStamp >= before, e.timeStamp <= now);
      port1.close();
    };
    setTimeout(() => port1.postMessage(1), 2);
    "#,
    &["true true"],
  );
}

#[test]
fn marks_and_measures() {
  assert_prints(
    r#"
    // The marks made now must come after those given times 2 and 3 (a runtime restored from the
    // snapshot can get here within 2 ms of its time origin).
    while (performance.now() < 5);
    const start = performance.mark("start", { detail: { step: 1 } });
    console.log(start instanceof PerformanceMark, start instanceof PerformanceEntry, start.entryType, start.duration);
    console.log(JSON.stringify(start.detail), start.detail !== start.detail ? "" : "kept");
    performance.mark("end", { startTime: start.startTime + 10 });
    const m = performance.measure("span", "start", "end");
    // (start + 10) - start is 10 only up to rounding.
    console.log(m.entryType, m.name, m.startTime === start.startTime, Math.abs(m.duration - 10) < 1e-9, m.detail);
    const o = performance.measure("opts", { start: 2, duration: 3, detail: "d" });
    console.log(o.startTime, o.duration, o.detail);
    const e = performance.measure("endonly", { end: 8, duration: 5 });
    console.log(e.startTime, e.duration);
    const fromStart = performance.measure("fromStart", "start");
    console.log(fromStart.startTime === start.startTime, fromStart.duration >= 0);
    console.log(performance.measure("all").startTime);
    const own = new PerformanceMark("own", { startTime: 1 });
    console.log(own.startTime, own.detail, performance.getEntriesByName("own").length);
    console.log(performance.getEntries().map((x) => x.name).join());
    console.log(performance.getEntriesByType("mark").map((x) => x.name).join());
    console.log(performance.getEntriesByName("span", "measure").length, performance.getEntriesByName("span", "mark").length);
    const errors = [
      () => performance.measure("x", "nope"),
      () => performance.measure("x", { start: 1 }, "end"),
      () => performance.measure("x", { duration: 1 }),
      () => performance.measure("x", { start: 1, end: 2, duration: 1 }),
      () => performance.mark("x", { startTime: -1 }),
      () => performance.mark("x", { detail: () => {} }),
      () => new PerformanceMeasure(),
      () => performance.mark(),
    ];
    for (const f of errors) {
      try { f(); console.log("no error"); } catch (err) { console.log(err.name); }
    }
    performance.clearMarks("start");
    console.log(performance.getEntriesByType("mark").map((x) => x.name).join());
    performance.clearMarks();
    performance.clearMeasures("span");
    console.log(performance.getEntriesByType("mark").length, performance.getEntriesByType("measure").length);
    performance.clearMeasures();
    console.log(performance.getEntries().length, JSON.stringify(o.toJSON()));
    "#,
    &[
      "true true mark 0",
      "{\"step\":1} kept",
      "measure span true true null",
      "2 3 d",
      "3 5",
      "true true",
      "0",
      "1 null 0",
      "all,opts,endonly,start,span,fromStart,end",
      "start,end",
      "1 0",
      "SyntaxError",
      "TypeError",
      "TypeError",
      "TypeError",
      "TypeError",
      "DataCloneError",
      "TypeError",
      "TypeError",
      "end",
      "0 4",
      "0 {\"name\":\"opts\",\"entryType\":\"measure\",\"startTime\":2,\"duration\":3}",
    ],
  );
}
