//! Runs one test file in a fresh runtime, the way WPT serves `.any.js` files to a worker:
//! a `GLOBAL` object, testharness.js, our report script, the `META: script`s, the test, `done()`.

use super::meta::{HtmlScript, Meta, html_scripts};
use super::report::{FileResult, FileStatus, SubtestResult};
use crate::{Runtime, RuntimeOptions, Stream};
use serde::Deserialize;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

const REPORT_SCRIPT: &str = include_str!("../../wpt/report.js");
const STANDINS_SCRIPT: &str = include_str!("../../wpt/standins.js");
/// How much of a test's console output a result keeps, for diagnosing failures.
const OUTPUT_TAIL: usize = 4000;

#[derive(Deserialize)]
struct RawReport {
  subtests: Vec<RawSubtest>,
  harness: Option<RawHarness>,
}

#[derive(Deserialize)]
struct RawSubtest {
  name: String,
  status: u8,
  message: Option<String>,
}

#[derive(Deserialize)]
struct RawHarness {
  status: u8,
  message: Option<String>,
}

/// Reads a file under the WPT root given as `/abs/path` (root-relative) or relative to `dir`.
fn read_script(root: &Path, dir: &Path, path: &str) -> Result<(String, String), String> {
  let (file, name) = match path.strip_prefix('/') {
    Some(rest) => (root.join(rest), path.to_string()),
    None => {
      let file = dir.join(path);
      let name = file
        .strip_prefix(root)
        .map(|p| format!("/{}", p.display()))
        .unwrap_or_else(|_| file.display().to_string());
      (file, name)
    }
  };
  std::fs::read_to_string(&file)
    .map(|source| (name, source))
    .map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// Runs `test` (a path relative to `root`) and returns its results. Never panics on bad input:
/// unreadable files and harness failures come back as an `ERROR` result.
pub fn run_test_file(root: &Path, test: &str, timeout: Duration) -> FileResult {
  let error = |message: String| FileResult::error(FileStatus::Error, message);
  let path = root.join(test);
  let source = match std::fs::read_to_string(&path) {
    Ok(source) => source,
    Err(e) => return error(format!("cannot read {}: {e}", path.display())),
  };
  let dir = path.parent().unwrap_or(root).to_path_buf();
  let is_html = test.ends_with(".html") || test.ends_with(".htm");
  let meta = Meta::parse(&source);

  // The scripts in order: (name, source).
  let mut scripts = Vec::new();
  let mut prelude = String::from(
    "self.GLOBAL = { isWindow: () => false, isWorker: () => true, isShadowRealm: () => false };\n",
  );
  if let Some(title) = &meta.title {
    prelude.push_str(&format!(
      "self.META_TITLE = {};\n",
      serde_json::json!(title)
    ));
  }
  scripts.push(("/v8mc/prelude.js".to_string(), prelude));
  match read_script(root, &dir, "/resources/testharness.js") {
    Ok(script) => scripts.push(script),
    Err(e) => return error(e),
  }
  scripts.push(("/v8mc/report.js".to_string(), REPORT_SCRIPT.to_string()));
  scripts.push(("/v8mc/standins.js".to_string(), STANDINS_SCRIPT.to_string()));
  if is_html {
    for (index, script) in html_scripts(&source).into_iter().enumerate() {
      match script {
        HtmlScript::Inline(code) => scripts.push((format!("/{test}#script{index}"), code)),
        HtmlScript::Src(src) => match read_script(root, &dir, &src) {
          Ok(script) => scripts.push(script),
          Err(e) => return error(e),
        },
      }
    }
  } else {
    for script in &meta.scripts {
      match read_script(root, &dir, script) {
        Ok(script) => scripts.push(script),
        Err(e) => return error(e),
      }
    }
    scripts.push((format!("/{test}"), source));
  }
  scripts.push(("/v8mc/done.js".to_string(), "done();".to_string()));
  run_scripts(scripts, timeout)
}

fn run_scripts(scripts: Vec<(String, String)>, timeout: Duration) -> FileResult {
  let output = Rc::new(RefCell::new(String::new()));
  let sink = output.clone();
  let mut runtime = match Runtime::new(RuntimeOptions {
    output: Some(Rc::new(move |stream: Stream, text: &str| {
      let mut out = sink.borrow_mut();
      if stream == Stream::Stderr || out.len() < OUTPUT_TAIL * 4 {
        out.push_str(text);
      }
    })),
    // Each file runs in its own `v8mc wpt-file` process with this one isolate.
    startup_snapshot: true,
    ..Default::default()
  }) {
    Ok(runtime) => runtime,
    Err(e) => return FileResult::error(FileStatus::Crash, format!("runtime failed to start: {e}")),
  };

  // A watchdog stops JS that never yields (an endless loop); the tokio timeout below stops a
  // file whose event loop keeps waiting for timers.
  let handle = runtime.isolate().thread_safe_handle();
  let fired = Arc::new(AtomicBool::new(false));
  let watchdog_fired = fired.clone();
  let (finished, watchdog_wait) = mpsc::channel::<()>();
  let watchdog = std::thread::spawn(move || {
    if watchdog_wait.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
      watchdog_fired.store(true, Ordering::SeqCst);
      handle.terminate_execution();
    }
  });

  for (name, source) in &scripts {
    // V8 lifts a termination once the terminated script returns; later scripts must not run.
    if fired.load(Ordering::SeqCst) {
      break;
    }
    runtime.execute_script_reporting_errors(name, source);
  }
  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .expect("a current-thread tokio runtime");
  let timed_out_waiting = tokio
    .block_on(async { tokio::time::timeout(timeout, runtime.run_event_loop()).await })
    .is_err();
  let _ = finished.send(());
  let _ = watchdog.join();
  let terminated = fired.load(Ordering::SeqCst);
  runtime.isolate().cancel_terminate_execution();

  let raw: Option<RawReport> = runtime
    .eval::<String>("JSON.stringify(globalThis.__wptReport ?? null)")
    .ok()
    .and_then(|json| serde_json::from_str(&json).ok());
  let mut result = FileResult::error(FileStatus::Error, "the report script did not run".into());
  if let Some(raw) = raw {
    result.subtests = raw
      .subtests
      .into_iter()
      .map(|s| SubtestResult::from_harness(s.name, s.status, s.message))
      .collect();
    match raw.harness {
      _ if terminated => {
        result.status = FileStatus::Timeout;
        result.message = Some(format!(
          "the file did not finish within {} s",
          timeout.as_secs()
        ));
      }
      Some(harness) => {
        result.status = FileStatus::from_harness(harness.status);
        result.message = harness.message;
      }
      None if timed_out_waiting => {
        result.status = FileStatus::Timeout;
        result.message = Some(format!(
          "the file did not finish within {} s",
          timeout.as_secs()
        ));
      }
      None => {
        result.status = FileStatus::Timeout;
        result.message =
          Some("the event loop ran out of work before the tests completed".to_string());
      }
    }
  }
  let output = output.borrow();
  let start = output.len().saturating_sub(OUTPUT_TAIL);
  let start = (start..output.len())
    .find(|&i| output.is_char_boundary(i))
    .unwrap_or(output.len());
  result.output = output[start..].to_string();
  result
}
