//! Results of test files and subtests, in the vocabulary of wptreport JSON (the format wpt.fyi
//! reads), and the writer for that format.

use serde::{Deserialize, Serialize};

/// The harness status of a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileStatus {
  /// The harness completed (subtests may still have failed).
  Ok,
  /// A harness error: an uncaught exception, a script that could not load.
  Error,
  /// The file did not complete in time, or waited for something that never came.
  Timeout,
  /// A test's precondition was not met.
  PreconditionFailed,
  /// The process running the file died.
  Crash,
  /// Not run: the file needs a window (the message says why).
  Skip,
}

impl FileStatus {
  pub(crate) fn from_harness(status: u8) -> Self {
    match status {
      0 => FileStatus::Ok,
      2 => FileStatus::Timeout,
      3 => FileStatus::PreconditionFailed,
      _ => FileStatus::Error,
    }
  }
}

/// The status of one subtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubtestStatus {
  /// Passed.
  Pass,
  /// An assertion failed or it threw.
  Fail,
  /// Did not finish.
  Timeout,
  /// Never ran.
  Notrun,
  /// Its precondition was not met.
  PreconditionFailed,
}

/// One subtest's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtestResult {
  /// The name given to test()/async_test()/promise_test().
  pub name: String,
  /// How it ended.
  pub status: SubtestStatus,
  /// The assertion message, when it failed.
  pub message: Option<String>,
}

impl SubtestResult {
  pub(crate) fn from_harness(name: String, status: u8, message: Option<String>) -> Self {
    let status = match status {
      0 => SubtestStatus::Pass,
      1 => SubtestStatus::Fail,
      2 => SubtestStatus::Timeout,
      3 => SubtestStatus::Notrun,
      _ => SubtestStatus::PreconditionFailed,
    };
    Self {
      name,
      status,
      message,
    }
  }
}

/// One file's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileResult {
  /// The harness status.
  pub status: FileStatus,
  /// Why the harness status is not OK.
  pub message: Option<String>,
  /// Every subtest that reported.
  pub subtests: Vec<SubtestResult>,
  /// The tail of what the file printed (console output, uncaught errors).
  #[serde(default, skip_serializing_if = "String::is_empty")]
  pub output: String,
}

impl FileResult {
  pub(crate) fn error(status: FileStatus, message: String) -> Self {
    Self {
      status,
      message: Some(message),
      subtests: Vec::new(),
      output: String::new(),
    }
  }
}

/// Writes the wptreport JSON for a run: `{"results": [{test, status, message, subtests}], ...}`.
pub(crate) fn wptreport(
  results: &[(String, FileResult)],
  start_ms: u128,
  end_ms: u128,
) -> serde_json::Value {
  let results: Vec<_> = results
    .iter()
    .filter(|(_, r)| r.status != FileStatus::Skip)
    .map(|(test, r)| {
      serde_json::json!({
        "test": wpt_url(test),
        "status": r.status,
        "message": r.message,
        "subtests": r.subtests.iter().map(|s| serde_json::json!({
          "name": s.name, "status": s.status, "message": s.message,
        })).collect::<Vec<_>>(),
      })
    })
    .collect();
  serde_json::json!({
    "time_start": start_ms,
    "time_end": end_ms,
    "run_info": {
      "product": "v8-message-channel",
      "browser_version": env!("CARGO_PKG_VERSION"),
      "os": std::env::consts::OS,
    },
    "results": results,
  })
}

/// The URL wpt.fyi gives a test: `.any.js` files run in a worker are `.any.worker.html`.
fn wpt_url(test: &str) -> String {
  match test.strip_suffix(".any.js") {
    Some(stem) => format!("/{stem}.any.worker.html"),
    None => format!("/{test}"),
  }
}
