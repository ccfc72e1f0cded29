//! The `v8mc wpt` run: picks the test files, runs each in a child process (so a crash or an
//! endless loop costs one file, not the run), compares with the expectations, prints a line per
//! file and a closing `N passed, N failed`, and writes wptreport JSON on request.

use super::expectations::{Comparison, Expectations, compare};
use super::meta::Meta;
use super::report::{FileResult, FileStatus, wptreport};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The expectations this build was released with (`wpt/expectations.json`).
pub(crate) const DEFAULT_EXPECTATIONS: &str = include_str!("../../wpt/expectations.json");

/// The subset this product is checked against, as globs under the WPT root.
pub const DEFAULT_SCOPE: &[&str] = &[
  "webmessaging/**/*.any.js",
  "webmessaging/*.html",
  "html/webappapis/structured-clone/*.any.js",
  "html/infrastructure/safe-passing-of-structured-data/**/*.any.js",
  "dom/events/*.any.js",
  "webidl/ecmascript-binding/es-exceptions/*.any.js",
];

/// How to run the tests.
#[derive(Debug, Clone)]
pub struct WptOptions {
  /// The WPT checkout.
  pub root: PathBuf,
  /// Files, directories or globs relative to the root; [`DEFAULT_SCOPE`] when empty.
  pub patterns: Vec<String>,
  /// Where to write wptreport JSON.
  pub json: Option<PathBuf>,
  /// Expected failures; the built-in `wpt/expectations.json` when `None`.
  pub expectations: Option<PathBuf>,
  /// Per-file time limit (`timeout=long` files get six times as much).
  pub timeout: Duration,
  /// Files run at once.
  pub jobs: usize,
  /// The `v8mc` executable that runs single files (`v8mc wpt-file`).
  pub worker: PathBuf,
}

/// What a run found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
  /// Test files run.
  pub files: usize,
  /// Files skipped because they need a window.
  pub skipped: usize,
  /// Subtests passed.
  pub passed: usize,
  /// Subtests (and harness statuses) failed.
  pub failed: usize,
  /// Failures not in the expectations.
  pub unexpected_failures: usize,
  /// Listed failures that passed.
  pub unexpected_passes: usize,
}

impl RunSummary {
  /// Whether the run matched the expectations exactly.
  pub fn matches_expectations(&self) -> bool {
    self.unexpected_failures == 0 && self.unexpected_passes == 0
  }
}

/// Simple glob matching over `/`-separated paths: `*` and `?` within a segment, `**` across.
pub fn glob_match(pattern: &str, path: &str) -> bool {
  fn go(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
      None => s.is_empty(),
      Some(b'*') if p.get(1) == Some(&b'*') => {
        let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
        (0..=s.len()).any(|i| (i == 0 || s[i - 1] == b'/') && go(rest, &s[i..])) || go(&p[2..], s)
      }
      Some(b'*') => (0..=s.len())
        .take_while(|&i| i == 0 || s[i - 1] != b'/')
        .any(|i| go(&p[1..], &s[i..])),
      Some(b'?') => !s.is_empty() && s[0] != b'/' && go(&p[1..], &s[1..]),
      Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
    }
  }
  go(pattern.as_bytes(), path.as_bytes())
}

fn is_test_file(root: &Path, relative: &str) -> bool {
  if relative
    .split('/')
    .any(|part| part == "support" || part == "resources")
  {
    return false;
  }
  if relative.ends_with(".any.js") {
    return true;
  }
  relative.ends_with(".html")
    && std::fs::read_to_string(root.join(relative))
      .is_ok_and(|html| html.contains("/resources/testharness.js"))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
  let Ok(entries) = std::fs::read_dir(dir) else {
    return;
  };
  for entry in entries.flatten() {
    let path = entry.path();
    if path.is_dir() {
      walk(root, &path, out);
    } else if let Ok(relative) = path.strip_prefix(root) {
      out.push(relative.to_string_lossy().replace('\\', "/"));
    }
  }
}

/// Every test file under the root, sorted.
fn test_files(root: &Path) -> Vec<String> {
  let mut all = Vec::new();
  walk(root, root, &mut all);
  all.retain(|relative| is_test_file(root, relative));
  all.sort();
  all
}

/// Whether `test` is selected by `pattern`: a glob, a file, or a directory.
fn selects(pattern: &str, test: &str) -> bool {
  let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
  if pattern.contains(['*', '?']) {
    glob_match(pattern, test)
  } else {
    test == pattern || test.starts_with(&format!("{pattern}/"))
  }
}

/// The test files the patterns select ([`DEFAULT_SCOPE`] when none), sorted.
pub fn select_tests(root: &Path, patterns: &[String]) -> Vec<String> {
  select_from(test_files(root), patterns)
}

fn select_from(all: Vec<String>, patterns: &[String]) -> Vec<String> {
  all
    .into_iter()
    .filter(|test| {
      if patterns.is_empty() {
        DEFAULT_SCOPE.iter().any(|pattern| selects(pattern, test))
      } else {
        patterns.iter().any(|pattern| selects(pattern, test))
      }
    })
    .collect()
}

fn run_in_child(options: &WptOptions, test: &str, timeout: Duration, index: usize) -> FileResult {
  let scratch = std::env::temp_dir().join(format!("v8mc-wpt-{}-{index}", std::process::id()));
  let (stdout_path, stderr_path) = (scratch.with_extension("out"), scratch.with_extension("err"));
  let files = (
    std::fs::File::create(&stdout_path),
    std::fs::File::create(&stderr_path),
  );
  let (Ok(stdout), Ok(stderr)) = files else {
    return FileResult::error(FileStatus::Crash, "cannot create scratch files".into());
  };
  let spawned = Command::new(&options.worker)
    .arg("wpt-file")
    .arg("--wpt-root")
    .arg(&options.root)
    .arg("--timeout-ms")
    .arg(timeout.as_millis().to_string())
    .arg(test)
    .stdin(Stdio::null())
    .stdout(stdout)
    .stderr(stderr)
    .spawn();
  let mut child = match spawned {
    Ok(child) => child,
    Err(e) => {
      return FileResult::error(
        FileStatus::Crash,
        format!("cannot start {}: {e}", options.worker.display()),
      );
    }
  };
  // The child enforces the timeout itself; this is the backstop for a child that hangs.
  let deadline = Instant::now() + timeout + Duration::from_secs(15);
  let status = loop {
    match child.try_wait() {
      Ok(Some(status)) => break Some(status),
      Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
      _ => {
        let _ = child.kill();
        let _ = child.wait();
        break None;
      }
    }
  };
  let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
  let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
  let _ = std::fs::remove_file(&stdout_path);
  let _ = std::fs::remove_file(&stderr_path);
  match (status, serde_json::from_str::<FileResult>(stdout.trim())) {
    (Some(status), Ok(result)) if status.success() => result,
    (None, _) => FileResult::error(FileStatus::Timeout, "killed: the test process hung".into()),
    (Some(status), _) => {
      let tail: String = stderr
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
      FileResult::error(
        FileStatus::Crash,
        format!("the test process exited with {status}: {tail}"),
      )
    }
  }
}

fn one_line(text: &str, max: usize) -> String {
  let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
  if line.chars().count() > max {
    format!("{}...", line.chars().take(max).collect::<String>())
  } else {
    line
  }
}

fn print_file(
  out: &mut dyn Write,
  done: usize,
  total: usize,
  test: &str,
  result: &FileResult,
  c: &Comparison,
) {
  let width = total.to_string().len();
  let label = if result.status == FileStatus::Skip {
    "skip "
  } else if !c.unexpected_failures.is_empty() {
    "FAIL "
  } else if !c.unexpected_passes.is_empty() {
    "XPASS"
  } else if c.failed() > 0 {
    "xfail"
  } else {
    "ok   "
  };
  let counts = if result.status == FileStatus::Skip {
    format!("({})", result.message.as_deref().unwrap_or(""))
  } else {
    let mut counts = format!("{} passed, {} failed", c.passed, c.failed());
    if !c.expected_failures.is_empty() {
      counts.push_str(&format!(" ({} expected)", c.expected_failures.len()));
    }
    counts
  };
  let _ = writeln!(out, "[{done:>width$}/{total}] {label} {test}  {counts}");
  for v in &c.unexpected_failures {
    let message = one_line(v.message.as_deref().unwrap_or(""), 160);
    let _ = writeln!(out, "    FAIL  {}: {message}", v.name);
  }
  for v in &c.expected_failures {
    let message = one_line(v.message.as_deref().unwrap_or(""), 100);
    let _ = writeln!(out, "    xfail {}: {message}", v.name);
  }
  for v in &c.unexpected_passes {
    let reason = v.reason.as_deref().unwrap_or("");
    let _ = writeln!(out, "    XPASS {} (listed as failing: {reason})", v.name);
  }
  if !c.unexpected_failures.is_empty() && !result.output.trim().is_empty() {
    let _ = writeln!(out, "    output: {}", one_line(&result.output, 300));
  }
}

/// Runs the selected files and prints a report to `out`.
pub fn run(options: &WptOptions, out: &mut (dyn Write + Send)) -> Result<RunSummary, String> {
  let expectations: Expectations = match &options.expectations {
    Some(path) => {
      let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read expectations {}: {e}", path.display()))?;
      serde_json::from_str(&text)
        .map_err(|e| format!("invalid expectations {}: {e}", path.display()))?
    }
    None => serde_json::from_str(DEFAULT_EXPECTATIONS)
      .map_err(|e| format!("invalid built-in expectations: {e}"))?,
  };
  let all_tests = test_files(&options.root);
  let tests = select_from(all_tests.clone(), &options.patterns);
  if tests.is_empty() {
    return Err(format!(
      "no test files match under {}",
      options.root.display()
    ));
  }
  let started = Instant::now();
  let start_ms = SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map_or(0, |d| d.as_millis());
  let total = tests.len();
  let next = AtomicUsize::new(0);
  let finished = AtomicUsize::new(0);
  let results: Mutex<Vec<Option<(FileResult, Comparison)>>> = Mutex::new(vec![None; total]);
  let out = Mutex::new(out);
  std::thread::scope(|threads| {
    for _ in 0..options.jobs.max(1) {
      threads.spawn(|| {
        loop {
          let index = next.fetch_add(1, Ordering::SeqCst);
          let Some(test) = tests.get(index) else {
            break;
          };
          let result = match std::fs::read_to_string(options.root.join(test)) {
            Ok(source) => {
              let meta = Meta::parse(&source);
              match meta.runnable() {
                Err(reason) => FileResult::error(FileStatus::Skip, reason),
                Ok(()) => {
                  let timeout = if meta.long_timeout {
                    options.timeout * 6
                  } else {
                    options.timeout
                  };
                  run_in_child(options, test, timeout, index)
                }
              }
            }
            Err(e) => FileResult::error(FileStatus::Error, format!("cannot read: {e}")),
          };
          let comparison = if result.status == FileStatus::Skip {
            Comparison::default()
          } else {
            compare(expectations.get(test), &result)
          };
          let done = finished.fetch_add(1, Ordering::SeqCst) + 1;
          let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
          print_file(&mut **out, done, total, test, &result, &comparison);
          results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some((result, comparison));
        }
      });
    }
  });
  let results: Vec<(FileResult, Comparison)> = results
    .into_inner()
    .unwrap_or_else(|e| e.into_inner())
    .into_iter()
    .flatten()
    .collect();
  let mut summary = RunSummary {
    files: results.len(),
    ..Default::default()
  };
  for (result, c) in &results {
    if result.status == FileStatus::Skip {
      summary.skipped += 1;
    }
    summary.passed += c.passed;
    summary.failed += c.failed();
    summary.unexpected_failures += c.unexpected_failures.len();
    summary.unexpected_passes += c.unexpected_passes.len();
  }
  // Expectations for files that were selected but are not test files any more are stale too.
  for listed in expectations.keys() {
    if !all_tests.iter().any(|test| selects(listed, test))
      && (options.patterns.is_empty() || options.patterns.iter().any(|p| p == listed))
    {
      summary.unexpected_passes += 1;
      let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
      let _ = writeln!(
        out,
        "XPASS {listed}: listed in the expectations but not a test file here"
      );
    }
  }
  if let Some(path) = &options.json {
    let end_ms = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .map_or(0, |d| d.as_millis());
    let named: Vec<(String, FileResult)> = tests
      .iter()
      .cloned()
      .zip(results.iter().map(|(r, _)| r.clone()))
      .collect();
    let report = wptreport(&named, start_ms, end_ms);
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
  }
  let out = out.into_inner().unwrap_or_else(|e| e.into_inner());
  let _ = writeln!(
    out,
    "\n{} files ({} skipped) in {:.1} s; failures: {} expected, {} unexpected; {} unexpected passes",
    summary.files,
    summary.skipped,
    started.elapsed().as_secs_f64(),
    summary.failed - summary.unexpected_failures,
    summary.unexpected_failures,
    summary.unexpected_passes,
  );
  let _ = writeln!(out, "{} passed, {} failed", summary.passed, summary.failed);
  Ok(summary)
}
