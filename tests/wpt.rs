//! The WPT runner: the whole subset against wpt/expectations.json, and the runner's own
//! behaviour on a small made-up WPT tree (errors, timeouts, skips, unexpected passes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use v8_message_channel::wpt::{Meta, glob_match};

fn shared_wpt() -> Option<PathBuf> {
  let root = std::env::var_os("WPT_ROOT")
    .map(PathBuf::from)
    .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/wpt"));
  root
    .join("resources/testharness.js")
    .is_file()
    .then_some(root)
}

fn v8mc(args: &[&str]) -> Output {
  Command::new(env!("CARGO_BIN_EXE_v8mc"))
    .args(args)
    .env_remove("WPT_ROOT")
    .output()
    .expect("v8mc runs")
}

fn text(bytes: &[u8]) -> String {
  String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_whole_subset_matches_the_expectations() {
  let Some(root) = shared_wpt() else {
    eprintln!("no WPT checkout at ../shared/wpt or $WPT_ROOT; nothing to run");
    return;
  };
  let json = std::env::temp_dir().join(format!("v8mc-wptreport-{}.json", std::process::id()));
  let out = v8mc(&[
    "wpt",
    "--wpt-root",
    root.to_str().unwrap(),
    "--json",
    json.to_str().unwrap(),
  ]);
  let stdout = text(&out.stdout);
  assert_eq!(
    out.status.code(),
    Some(0),
    "{stdout}\n{}",
    text(&out.stderr)
  );
  let last = stdout.lines().last().unwrap_or_default();
  let counts: Vec<&str> = last.split(' ').collect();
  assert!(
    counts.len() == 4 && counts[1] == "passed," && counts[3] == "failed",
    "closing line: {last}"
  );
  let passed: usize = counts[0].parse().unwrap();
  assert!(passed >= 490, "{passed} subtests passed");
  let report: serde_json::Value =
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
  let results = report["results"].as_array().unwrap();
  assert!(results.len() >= 60, "{} files in the report", results.len());
  let clone = results
    .iter()
    .find(|r| r["test"] == "/html/webappapis/structured-clone/structured-clone.any.worker.html")
    .expect("the structured-clone battery ran");
  assert_eq!(clone["status"], "OK");
  assert!(clone["subtests"].as_array().unwrap().len() > 100);
  std::fs::remove_file(json).unwrap();
}

/// A tiny WPT tree in a temporary directory, with the real testharness.js.
fn fake_tree(name: &str) -> Option<PathBuf> {
  let harness = shared_wpt()?.join("resources/testharness.js");
  let root = std::env::temp_dir().join(format!("v8mc-fake-wpt-{name}-{}", std::process::id()));
  let _ = std::fs::remove_dir_all(&root);
  for dir in ["resources", "common", "t"] {
    std::fs::create_dir_all(root.join(dir)).unwrap();
  }
  std::fs::copy(harness, root.join("resources/testharness.js")).unwrap();
  let files = [
    ("common/helper.js", "self.helperValue = 42;"),
    (
      "t/pass.any.js",
      "// META: script=/common/helper.js\ntest(() => assert_equals(helperValue, 42), 'passes');",
    ),
    (
      "t/fail.any.js",
      "test(() => assert_true(false, 'nope'), 'fails');\ntest(() => {}, 'fine');",
    ),
    (
      "t/throws.any.js",
      "test(() => {}, 'before');\nthrow new Error('load failure');",
    ),
    ("t/loop.any.js", "test(() => {}, 'first');\nwhile (true) {}"),
    ("t/waits.any.js", "async_test(() => {}, 'never done');"),
    (
      "t/window.any.js",
      "// META: global=window\ntest(() => {}, 'window only');",
    ),
    (
      "t/page.html",
      "<script src=/resources/testharness.js></script>\n<script>test(() => {}, 'inline');</script>",
    ),
  ];
  for (path, source) in files {
    std::fs::write(root.join(path), source).unwrap();
  }
  Some(root)
}

#[test]
fn the_runner_reports_failures_errors_timeouts_and_skips() {
  let Some(root) = fake_tree("statuses") else {
    return;
  };
  let expectations = root.join("expectations.json");
  std::fs::write(
    &expectations,
    r#"{
      "t/fail.any.js": { "fails": "made to fail" },
      "t/throws.any.js": { "(harness)": "throws while loading" },
      "t/loop.any.js": { "*": "never yields" },
      "t/waits.any.js": { "(harness)": "waits for ever" }
    }"#,
  )
  .unwrap();
  let root_arg = root.to_str().unwrap();
  let exp_arg = expectations.to_str().unwrap();
  let out = v8mc(&[
    "wpt",
    "t",
    "--wpt-root",
    root_arg,
    "--expectations",
    exp_arg,
    "--timeout",
    "1",
  ]);
  let stdout = text(&out.stdout);
  assert_eq!(out.status.code(), Some(0), "{stdout}");
  assert!(
    stdout.contains("ok    t/pass.any.js  1 passed, 0 failed"),
    "{stdout}"
  );
  assert!(
    stdout.contains("ok    t/page.html  1 passed, 0 failed"),
    "{stdout}"
  );
  assert!(
    stdout.contains("xfail t/fail.any.js  1 passed, 1 failed (1 expected)"),
    "{stdout}"
  );
  assert!(
    stdout.contains("xfail fails: assert_true: nope"),
    "{stdout}"
  );
  assert!(stdout.contains("load failure"), "{stdout}");
  assert!(stdout.contains("did not finish within 1 s"), "{stdout}");
  assert!(
    stdout.contains("ran out of work before the tests completed"),
    "{stdout}"
  );
  assert!(
    stdout.contains("skip  t/window.any.js  (global=window needs a window"),
    "{stdout}"
  );
  assert!(stdout.ends_with("\n5 passed, 4 failed\n"), "{stdout}");

  // Without the expectations, the same failures are unexpected.
  let out = v8mc(&[
    "wpt",
    "t/fail.any.js",
    "--wpt-root",
    root_arg,
    "--expectations",
    "/dev/null",
  ]);
  assert_eq!(
    out.status.code(),
    Some(2),
    "an empty file is not valid JSON: {}",
    text(&out.stderr)
  );
  let empty = root.join("empty.json");
  std::fs::write(&empty, "{}").unwrap();
  let out = v8mc(&[
    "wpt",
    "t/fail.any.js",
    "--wpt-root",
    root_arg,
    "--expectations",
    empty.to_str().unwrap(),
  ]);
  assert_eq!(out.status.code(), Some(1));
  assert!(text(&out.stdout).contains("FAIL  fails: assert_true: nope"));

  // A listed failure that passes is an error too.
  let stale = root.join("stale.json");
  std::fs::write(
    &stale,
    r#"{ "t/pass.any.js": { "passes": "thought to fail" } }"#,
  )
  .unwrap();
  let out = v8mc(&[
    "wpt",
    "t/pass.any.js",
    "--wpt-root",
    root_arg,
    "--expectations",
    stale.to_str().unwrap(),
  ]);
  assert_eq!(out.status.code(), Some(1));
  assert!(text(&out.stdout).contains("XPASS passes (listed as failing: thought to fail)"));
  std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn the_runner_explains_a_missing_checkout() {
  let out = v8mc(&["wpt", "--wpt-root", "/nonexistent/wpt"]);
  assert_eq!(out.status.code(), Some(2));
  assert!(text(&out.stderr).contains("is not a WPT checkout"));
  let out = Command::new(env!("CARGO_BIN_EXE_v8mc"))
    .args(["wpt"])
    .env_remove("WPT_ROOT")
    .current_dir("/")
    .output()
    .unwrap();
  assert_eq!(out.status.code(), Some(2));
  assert!(
    text(&out.stderr).contains("no WPT checkout"),
    "{}",
    text(&out.stderr)
  );
}

#[test]
fn meta_lines_and_globs() {
  let meta = Meta::parse(
    "// META: title=T\n// META: global=window,worker\n// META: script=/a.js\n// META: timeout=long\ncode();\n// META: script=/ignored.js",
  );
  assert_eq!(meta.title.as_deref(), Some("T"));
  assert_eq!(meta.scripts, ["/a.js"]);
  assert!(meta.long_timeout);
  assert!(meta.runnable().is_ok());
  assert!(Meta::parse("// META: global=window").runnable().is_err());
  assert!(
    Meta::parse("test(() => {});").runnable().is_ok(),
    "the default includes dedicatedworker"
  );
  assert!(glob_match(
    "webmessaging/**/*.any.js",
    "webmessaging/a/b/c.any.js"
  ));
  assert!(glob_match(
    "webmessaging/**/*.any.js",
    "webmessaging/c.any.js"
  ));
  assert!(!glob_match(
    "webmessaging/*.any.js",
    "webmessaging/a/c.any.js"
  ));
  assert!(glob_match(
    "dom/events/Event-?ype.any.js",
    "dom/events/Event-type.any.js"
  ));
}

/// The structured-clone battery, run once through `structuredClone` (V8's serializer) and once
/// through a MessageChannel (the same-isolate copy for plain data): every subtest must end the same.
#[test]
fn the_structured_clone_battery_ends_the_same_through_post_message() {
  let Some(shared) = shared_wpt() else {
    eprintln!("no WPT checkout at ../shared/wpt or $WPT_ROOT; nothing to run");
    return;
  };
  let root = std::env::temp_dir().join(format!("v8mc-battery-{}", std::process::id()));
  let _ = std::fs::remove_dir_all(&root);
  let battery = "html/webappapis/structured-clone";
  for dir in ["resources", "common", "t", battery] {
    std::fs::create_dir_all(root.join(dir)).unwrap();
  }
  for file in [
    "resources/testharness.js",
    "common/sab.js",
    "html/webappapis/structured-clone/structured-clone.any.js",
    "html/webappapis/structured-clone/structured-clone-battery-of-tests.js",
    "html/webappapis/structured-clone/structured-clone-battery-of-tests-with-transferables.js",
    "html/webappapis/structured-clone/structured-clone-battery-of-tests-harness.js",
  ] {
    std::fs::copy(shared.join(file), root.join(file)).unwrap();
  }
  std::fs::write(
    root.join("t/post-message.any.js"),
    format!(
      "// META: script=/common/sab.js
// META: script=/{battery}/structured-clone-battery-of-tests.js
// META: script=/{battery}/structured-clone-battery-of-tests-with-transferables.js
// META: script=/{battery}/structured-clone-battery-of-tests-harness.js
runStructuredCloneBatteryOfTests({{
  structuredClone: (value, transfer) => new Promise((resolve) => {{
    const {{ port1, port2 }} = new MessageChannel();
    port2.onmessage = (e) => {{ port1.close(); resolve(e.data); }};
    port1.postMessage(value, transfer);
  }}),
  hasDocument: false,
  hasBlob: typeof Blob !== 'undefined',
}});
"
    ),
  )
  .unwrap();
  let json = root.join("report.json");
  v8mc(&[
    "wpt",
    "--wpt-root",
    root.to_str().unwrap(),
    "t/post-message.any.js",
    &format!("{battery}/structured-clone.any.js"),
    "--json",
    json.to_str().unwrap(),
  ]);
  let report: serde_json::Value =
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
  let outcomes = |name: &str| -> Vec<(String, String)> {
    let file = report["results"]
      .as_array()
      .unwrap()
      .iter()
      .find(|r| r["test"].as_str().unwrap().contains(name))
      .unwrap_or_else(|| panic!("{name} ran"));
    let mut subtests: Vec<(String, String)> = file["subtests"]
      .as_array()
      .unwrap()
      .iter()
      .map(|s| (s["name"].to_string(), s["status"].to_string()))
      .collect();
    subtests.sort();
    subtests
  };
  let through_clone = outcomes("structured-clone.any");
  let through_port = outcomes("post-message.any");
  let passed = through_port.iter().filter(|(_, s)| s == "\"PASS\"").count();
  assert!(
    passed >= 100,
    "{passed} subtests passed through postMessage"
  );
  assert_eq!(through_port, through_clone);
  std::fs::remove_dir_all(root).unwrap();
}
