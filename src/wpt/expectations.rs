//! `wpt/expectations.json`: the failures we have looked at, each with a reason.
//!
//! ```json
//! { "dir/file.any.js": { "subtest name": "why it fails", "(harness)": "why the file errors" },
//!   "dir/other.any.js": { "*": "why every subtest of this file fails" } }
//! ```
//! A listed failure that passes is an error too, so the file stays true.

use super::report::{FileResult, FileStatus, SubtestStatus};
use std::collections::BTreeMap;

/// The pseudo-subtest that stands for a file whose harness status is not OK.
pub const HARNESS: &str = "(harness)";
/// Matches every subtest of a file, and its harness status.
pub const ALL: &str = "*";

/// Expected failures by file, then by subtest name, with the reason.
pub type Expectations = BTreeMap<String, BTreeMap<String, String>>;

/// A failure or pass measured against the expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
  /// Subtest (or [`HARNESS`]) name.
  pub name: String,
  /// The failure message, for failures.
  pub message: Option<String>,
  /// The listed reason, when the outcome was expected.
  pub reason: Option<String>,
}

/// How one file compares with its expectations.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
  /// Subtests that passed.
  pub passed: usize,
  /// Failures listed in the expectations.
  pub expected_failures: Vec<Verdict>,
  /// Failures not listed.
  pub unexpected_failures: Vec<Verdict>,
  /// Listed failures that passed (or were never seen).
  pub unexpected_passes: Vec<Verdict>,
}

impl Comparison {
  /// All failures, expected or not.
  pub fn failed(&self) -> usize {
    self.expected_failures.len() + self.unexpected_failures.len()
  }
}

pub fn compare(expected: Option<&BTreeMap<String, String>>, result: &FileResult) -> Comparison {
  let empty = BTreeMap::new();
  let expected = expected.unwrap_or(&empty);
  let reason_for = |name: &str| expected.get(name).or_else(|| expected.get(ALL)).cloned();
  let mut comparison = Comparison::default();
  let mut failures = Vec::new();
  if result.status != FileStatus::Ok {
    failures.push((HARNESS.to_string(), result.message.clone()));
  }
  for subtest in &result.subtests {
    if subtest.status == SubtestStatus::Pass {
      comparison.passed += 1;
      if let Some(reason) = expected.get(&subtest.name) {
        comparison.unexpected_passes.push(Verdict {
          name: subtest.name.clone(),
          message: None,
          reason: Some(reason.clone()),
        });
      }
    } else {
      let message = subtest
        .message
        .clone()
        .or_else(|| Some(format!("{:?}", subtest.status)));
      failures.push((subtest.name.clone(), message));
    }
  }
  for (name, message) in failures {
    let reason = reason_for(&name);
    let verdict = Verdict {
      name,
      message,
      reason: reason.clone(),
    };
    match reason {
      Some(_) => comparison.expected_failures.push(verdict),
      None => comparison.unexpected_failures.push(verdict),
    }
  }
  // Listed names that never showed up as failures are stale entries.
  for (name, reason) in expected {
    let seen = comparison.expected_failures.iter().any(|v| &v.name == name)
      || comparison.unexpected_passes.iter().any(|v| &v.name == name);
    let matches_something = name == ALL && !comparison.expected_failures.is_empty();
    if !seen && !matches_something {
      comparison.unexpected_passes.push(Verdict {
        name: name.clone(),
        message: Some("listed as failing but did not fail".to_string()),
        reason: Some(reason.clone()),
      });
    }
  }
  comparison
}
