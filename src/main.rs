//! `v8mc`: runs JS files against the MessageChannel globals. A thin client of the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use v8_message_channel::{Compat, FLAGS, NEWEST_COMPATIBILITY_DATE, Runtime, RuntimeOptions};

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
  /// Exit status: 0 on success, 1 when a JS error was uncaught, 2 for bad options or files.
  Run {
    /// The file to run.
    file: PathBuf,
    /// Compatibility date (YYYY-MM-DD); defaults to the newest this build supports.
    #[arg(long, value_name = "DATE")]
    compatibility_date: Option<String>,
    /// Comma-separated compatibility flags, e.g. expose_global_message_channel.
    #[arg(long, value_name = "FLAGS", value_delimiter = ',')]
    compatibility_flags: Vec<String>,
    /// Treat the file as an ES module whatever its extension.
    #[arg(long)]
    module: bool,
  },
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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
  let Command::Run {
    file,
    compatibility_date,
    compatibility_flags,
    module,
  } = cli.command;
  let date = compatibility_date.unwrap_or_else(|| NEWEST_COMPATIBILITY_DATE.to_string());
  let flags: Vec<&str> = compatibility_flags
    .iter()
    .map(|f| f.trim())
    .filter(|f| !f.is_empty())
    .collect();
  let compat = Compat::new(&date, &flags).map_err(|e| UsageError(e.to_string()))?;
  let source = std::fs::read_to_string(&file)
    .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
  let as_module = module || file.extension().is_some_and(|ext| ext == "mjs");

  let tokio = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .build()
    .context("cannot start the event loop")?;
  let mut runtime = Runtime::new(RuntimeOptions {
    compat,
    output: None,
  })
  .context("cannot start the runtime")?;
  let started = if as_module {
    runtime.execute_module(&file)
  } else {
    runtime.execute_script(&file.to_string_lossy(), &source)
  };
  let result = started.and_then(|()| tokio.block_on(runtime.run_event_loop()));
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
