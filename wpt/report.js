// Collects testharness.js results for the runner (src/wpt), which reads them as JSON from
// `globalThis.__wptReport` when the file's event loop is done. testharnessreport.js needs a DOM,
// so this takes its place.
globalThis.__wptReport = { subtests: [], harness: null };
add_result_callback((test) => {
  globalThis.__wptReport.subtests.push({
    name: test.name,
    status: test.status,
    message: test.message ?? null,
  });
});
add_completion_callback((_tests, status) => {
  globalThis.__wptReport.harness = { status: status.status, message: status.message ?? null };
});
