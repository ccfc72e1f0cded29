//! Helpers: run JS in a fresh runtime and capture what it printed.

use std::cell::RefCell;
use std::rc::Rc;
use v8_message_channel::{Compat, Error, Runtime, RuntimeOptions, Stream};

/// What a script printed, and how the run ended.
pub struct Outcome {
  pub stdout: String,
  pub stderr: String,
  pub result: Result<(), Error>,
}

impl Outcome {
  /// stdout as lines.
  pub fn lines(&self) -> Vec<&str> {
    self.stdout.lines().collect()
  }

  #[track_caller]
  pub fn expect_ok(&self) -> &Self {
    if let Err(e) = &self.result {
      panic!(
        "script failed: {e}\nstdout:\n{}\nstderr:\n{}",
        self.stdout, self.stderr
      );
    }
    assert_eq!(self.stderr, "", "unexpected stderr");
    self
  }
}

/// What a runtime printed so far: (stdout, stderr).
pub type Captured = Rc<RefCell<(String, String)>>;

pub fn runtime_with(compat: Compat) -> (Runtime, Captured) {
  runtime_from(RuntimeOptions {
    compat,
    ..Default::default()
  })
}

/// A runtime made with `options`, its output captured.
pub fn runtime_from(options: RuntimeOptions) -> (Runtime, Captured) {
  let captured = Rc::new(RefCell::new((String::new(), String::new())));
  let sink = captured.clone();
  // Runtimes restore the startup snapshot (the default) while tests/embed.rs makes isolates
  // from V8's own snapshot on other threads of this process: the two kinds must coexist.
  let runtime = Runtime::new(RuntimeOptions {
    output: Some(Rc::new(move |stream, text| {
      let mut out = sink.borrow_mut();
      match stream {
        Stream::Stdout => out.0.push_str(text),
        Stream::Stderr => out.1.push_str(text),
      }
    })),
    ..options
  })
  .expect("runtime starts");
  (runtime, captured)
}

/// Runs a classic script and then the event loop, with the given compatibility settings.
pub fn run_with(compat: Compat, source: &str) -> Outcome {
  let (mut runtime, captured) = runtime_with(compat);
  let result = runtime
    .execute_script("test.js", source)
    .and_then(|()| block_on(runtime.run_event_loop()));
  let (stdout, stderr) = captured.borrow().clone();
  Outcome {
    stdout,
    stderr,
    result,
  }
}

/// Runs a classic script and its event loop with the newest compatibility date.
pub fn run(source: &str) -> Outcome {
  run_with(Compat::latest(), source)
}

/// Runs `source` and asserts it succeeded and printed exactly `expected` (one entry per line).
#[track_caller]
pub fn assert_prints(source: &str, expected: &[&str]) {
  let outcome = run(source);
  outcome.expect_ok();
  assert_eq!(outcome.lines(), expected, "stdout of the script");
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
  tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .expect("tokio runtime")
    .block_on(future)
}

/// Set in the child process a test runs itself in.
const CHILD: &str = "V8MC_TEST_CHILD";

/// Runs `body` in a child process that runs only the test `test` (its full name), and fails
/// if the child fails; in that child, runs `body`. For what the other tests of this binary,
/// running in parallel threads, would disturb: the process's RSS, or which kind of isolate the
/// process made first.
#[track_caller]
pub fn in_own_process(test: &str, body: impl FnOnce()) {
  if std::env::var_os(CHILD).is_some() {
    body();
    return;
  }
  let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
    .args([test, "--exact", "--nocapture", "--test-threads=1"])
    .env(CHILD, "1")
    .output()
    .expect("the test binary runs");
  let stdout = String::from_utf8_lossy(&output.stdout);
  let stderr = String::from_utf8_lossy(&output.stderr);
  // What the child printed, for `--nocapture` and for failures.
  println!("{stdout}");
  assert!(
    output.status.success() && stdout.contains("test result: ok. 1 passed"),
    "{test} failed in its own process ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
    output.status
  );
}
