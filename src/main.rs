//! `v8mc`: runs JS files against the MessageChannel globals. A thin client of the library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use v8_message_channel::{Compat, FLAGS, NEWEST_COMPATIBILITY_DATE, Runtime, RuntimeOptions, Url};

#[derive(Parser)]
#[command(
  name = "v8mc",
  version,
  about = "Run JavaScript against the web MessageChannel / MessagePort API on V8",
  after_help = flags_help()
)]
struct Cli {
  #[command(subcommand)]
  command: Command,
}

#[derive(Subcommand)]
enum Command {
  /// Run a script or ES module, then its event loop until no work is left.
  ///
  /// `.mjs` files are ES modules; other files are classic scripts unless --module is given.
  /// `-` reads the script from standard input. Exit status: 0 on success, 1 when a JS error was
  /// uncaught, 2 for bad options or files.
  Run {
    /// The file to run, or `-` for standard input.
    file: PathBuf,
    #[command(flatten)]
    options: ScriptOptions,
  },
  /// Run CODE as a script (or an ES module with --module), then its event loop.
  ///
  /// Its imports resolve against the working directory. Exit status as for `run`.
  Eval {
    /// The code to run.
    #[arg(allow_hyphen_values = true)]
    code: String,
    #[command(flatten)]
    options: ScriptOptions,
  },
  /// Run web-platform-tests files and compare them with the expected failures.
  ///
  /// Each file runs in a fresh runtime in its own process. Exit status: 0 when the results match
  /// the expectations, 1 on an unexpected failure or an unexpected pass, 2 for bad options or a
  /// missing WPT checkout.
  Wpt {
    /// Files, directories or globs under the WPT root (default: the subset this product
    /// implements).
    paths: Vec<String>,
    /// The WPT checkout (default: $WPT_ROOT, else ../shared/wpt).
    #[arg(long, value_name = "DIR")]
    wpt_root: Option<PathBuf>,
    /// Write results as wptreport JSON (the format wpt.fyi reads).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Expected failures (default: the wpt/expectations.json this build carries).
    #[arg(long, value_name = "FILE")]
    expectations: Option<PathBuf>,
    /// Per-file time limit in seconds; `timeout=long` files get six times as much.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    timeout: f64,
    /// Files run at once (default: the number of CPUs).
    #[arg(long, short)]
    jobs: Option<usize>,
  },
  /// Run one WPT file and print its results as JSON (used by `v8mc wpt`).
  #[command(hide = true)]
  WptFile {
    test: String,
    #[arg(long)]
    wpt_root: PathBuf,
    #[arg(long)]
    timeout_ms: u64,
  },
}

/// The options `run` and `eval` share.
#[derive(Args)]
struct ScriptOptions {
  /// Compatibility date (YYYY-MM-DD); defaults to the newest this build supports.
  #[arg(long, value_name = "DATE")]
  compatibility_date: Option<String>,
  /// Comma-separated compatibility flags, e.g. expose_global_message_channel.
  #[arg(long, value_name = "FLAGS", value_delimiter = ',')]
  compatibility_flags: Vec<String>,
  /// Run the code as an ES module (`run` does for `.mjs` files anyway).
  #[arg(long)]
  module: bool,
  /// Space-separated V8 flags, e.g. "--trace-gc --max-old-space-size=512" (for diagnosis;
  /// `--v8-flags=--help` lists them).
  #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
  v8_flags: Option<String>,
  /// The size limit of a posted message, in bytes of its serialized form (larger ones throw a
  /// DataCloneError); 268435456 (256 MiB) by default.
  #[arg(long, value_name = "BYTES")]
  max_message_size: Option<usize>,
}

/// Code to run: its URL (what its imports resolve against and stack traces name), its text, and
/// whether it is a module.
struct Source {
  url: Url,
  code: String,
  module: bool,
}

fn flags_help() -> String {
  let mut text =
    format!("Compatibility flags (newest supported date: {NEWEST_COMPATIBILITY_DATE}):\n");
  for spec in FLAGS {
    let date = spec.enable_date.unwrap_or("never (flag only)");
    text.push_str(&format!(
      "  {} / {}\n      {}; on by default from {date}\n",
      spec.enable, spec.disable, spec.doc
    ));
  }
  text
}

/// A failure before any JS ran: bad options or an unreadable file (exit status 2).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
  tune_allocator();
  let cli = Cli::parse();
  match run(cli) {
    Ok(code) => code,
    Err(error) => {
      eprintln!("error: {error}");
      if error.is::<UsageError>() {
        ExitCode::from(2)
      } else {
        ExitCode::from(1)
      }
    }
  }
}

/// Keeps memory glibc's malloc frees in its heap instead of returning it to the kernel, where
/// reusing it would cost page faults again. (ArrayBuffer blocks of 256 KiB and more do not come
/// from malloc: `src/array_buffers.rs` maps and pools them itself.)
fn tune_allocator() {
  #[cfg(all(feature = "fast-paths", target_os = "linux", target_env = "gnu"))]
  {
    // SAFETY: mallopt only changes glibc malloc's tuning parameters; it is called before any
    // other thread exists and takes plain integers.
    unsafe {
      libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
      libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
  }
}

/// Hands `flags` to V8 before it starts; an unknown one is a usage error.
fn set_v8_flags(flags: &str) -> anyhow::Result<()> {
  let mut args = vec!["v8mc".to_string()];
  args.extend(flags.split_whitespace().map(str::to_string));
  let rest = v8::V8::set_flags_from_command_line(args);
  if let Some(unknown) = rest.get(1) {
    return Err(UsageError(format!("unknown V8 flag {unknown:?} in --v8-flags")).into());
  }
  Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
  match cli.command {
    Command::Run { file, options } => {
      let source = if file.as_os_str() == "-" {
        let mut code = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut code)
          .map_err(|e| UsageError(format!("cannot read the script from standard input: {e}")))?;
        Source {
          url: url_in_working_directory("[stdin]")?,
          code,
          module: options.module,
        }
      } else {
        let code = std::fs::read_to_string(&file)
          .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
        let path = std::path::absolute(&file)
          .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
        Source {
          url: Url::from_file_path(&path)
            .map_err(|()| UsageError(format!("cannot read {}: not a file path", file.display())))?,
          code,
          module: options.module || file.extension().is_some_and(|ext| ext == "mjs"),
        }
      };
      run_source(source, options)
    }
    Command::Eval { code, options } => {
      let source = Source {
        url: url_in_working_directory("[eval]")?,
        code,
        module: options.module,
      };
      run_source(source, options)
    }
    Command::Wpt {
      paths,
      wpt_root,
      json,
      expectations,
      timeout,
      jobs,
    } => {
      let root = wpt_root
        .or_else(|| std::env::var_os("WPT_ROOT").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("../shared/wpt")).filter(|p| p.is_dir()))
        .ok_or_else(|| {
          UsageError(
            "no WPT checkout: pass --wpt-root DIR or set WPT_ROOT (git clone \
             https://github.com/web-platform-tests/wpt gives one)"
              .into(),
          )
        })?;
      if !root.join("resources/testharness.js").is_file() {
        return Err(
          UsageError(format!(
            "{} is not a WPT checkout (no resources/testharness.js)",
            root.display()
          ))
          .into(),
        );
      }
      if !(timeout.is_finite() && timeout > 0.0) {
        return Err(
          UsageError(format!(
            "--timeout must be a positive number of seconds, not {timeout}"
          ))
          .into(),
        );
      }
      let options = v8_message_channel::wpt::WptOptions {
        root,
        patterns: paths,
        json,
        expectations,
        timeout: std::time::Duration::from_secs_f64(timeout),
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        worker: std::env::current_exe().context("cannot find the v8mc executable")?,
      };
      let mut stdout = std::io::stdout();
      let summary = v8_message_channel::wpt::run(&options, &mut stdout).map_err(UsageError)?;
      Ok(if summary.matches_expectations() {
        ExitCode::SUCCESS
      } else {
        ExitCode::from(1)
      })
    }
    Command::WptFile {
      test,
      wpt_root,
      timeout_ms,
    } => {
      // common/gc.js collects garbage through `gc()` where it exists, as in browsers' test
      // runs (the close-event/garbage-collected test needs a real collection).
      v8::V8::set_flags_from_string("--expose-gc");
      let result = v8_message_channel::wpt::run_test_file(
        &wpt_root,
        &test,
        std::time::Duration::from_millis(timeout_ms),
      );
      println!("{}", serde_json::to_string(&result)?);
      Ok(ExitCode::SUCCESS)
    }
  }
}

/// The `file:` URL of `name` in the working directory (what `eval` and standard-input code is
/// named, so that its imports resolve against the working directory).
fn url_in_working_directory(name: &str) -> anyhow::Result<Url> {
  let cwd = std::env::current_dir()
    .map_err(|e| UsageError(format!("cannot read the working directory: {e}")))?;
  Url::from_file_path(cwd.join(name))
    .map_err(|()| UsageError(format!("{} is not a file path", cwd.display())).into())
}

fn run_source(source: Source, options: ScriptOptions) -> anyhow::Result<ExitCode> {
  if let Some(flags) = &options.v8_flags {
    set_v8_flags(flags)?;
  }
  let date = options
    .compatibility_date
    .unwrap_or_else(|| NEWEST_COMPATIBILITY_DATE.to_string());
  let flags: Vec<&str> = options
    .compatibility_flags
    .iter()
    .map(|f| f.trim())
    .filter(|f| !f.is_empty())
    .collect();
  let compat = Compat::new(&date, &flags).map_err(|e| UsageError(e.to_string()))?;

  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .context("cannot start the event loop")?;
  let mut runtime = Runtime::new(RuntimeOptions {
    compat,
    // Every isolate of this process is a Runtime, so the snapshot is safe to use.
    startup_snapshot: true,
    max_message_size: options.max_message_size,
    ..Default::default()
  })
  .context("cannot start the runtime")?;
  let started = if source.module {
    runtime.execute_module_source(source.url.as_str(), &source.code)
  } else {
    runtime.execute_script(source.url.as_str(), &source.code)
  };
  let result = started.and_then(|()| tokio.block_on(runtime.run_event_loop()));
  // The process is about to exit: tearing the isolate down would only spend time freeing a heap
  // the kernel frees anyway (Node and Deno skip it too).
  std::mem::forget(runtime);
  Ok(match result {
    Ok(()) => ExitCode::SUCCESS,
    // Already printed when it happened.
    Err(e) if e.was_reported() => ExitCode::from(1),
    Err(e) => {
      eprintln!("error: {e}");
      ExitCode::from(1)
    }
  })
}
