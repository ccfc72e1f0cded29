//! Errors that cross from JS into Rust: a thrown value with its stack, and the ways running a
//! script can fail.

use crate::compat::CompatError;
use std::fmt;

/// A JS exception seen from Rust: its message and, where the value had one, its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsError {
  /// `String(exception)`, e.g. `TypeError: x is not a function`.
  pub message: String,
  /// The `stack` property of the exception (which starts with the message), if it had one.
  pub stack: Option<String>,
  /// `file:line:column` where it was thrown, when V8 knows it.
  pub location: Option<String>,
}

impl JsError {
  /// Reads a thrown value: its `stack` when it is an error object, else its string form.
  pub fn from_exception<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    exception: v8::Local<'s, v8::Value>,
  ) -> Self {
    v8::tc_scope!(let scope, scope);
    let message = exception
      .to_string(scope)
      .map(|s| s.to_rust_string_lossy(scope))
      .unwrap_or_else(|| "<exception could not be converted to a string>".to_string());
    let stack = exception.to_object(scope).and_then(|object| {
      let key = v8::String::new(scope, "stack")?;
      let value = object.get(scope, key.into())?;
      value
        .is_string()
        .then(|| value.to_rust_string_lossy(scope))
        .filter(|s| !s.is_empty())
    });
    let location = {
      let message = v8::Exception::create_message(scope, exception);
      let line = message.get_line_number(scope).unwrap_or(0);
      let column = message.get_start_column().saturating_add(1);
      message
        .get_script_resource_name(scope)
        .filter(|name| name.is_string())
        .map(|name| format!("{}:{line}:{column}", name.to_rust_string_lossy(scope)))
    };
    // A getter on a thrown object can itself throw; that must not leak out of the report.
    scope.reset();
    Self {
      message,
      stack,
      location,
    }
  }

  /// The best text to show a person: the stack if there is one, else the message and place.
  pub fn display_text(&self) -> String {
    match (&self.stack, &self.location) {
      (Some(stack), _) if stack.contains("\n    at ") => stack.clone(),
      (_, Some(location)) => format!("{}\n    at {location}", self.message),
      _ => self.message.clone(),
    }
  }
}

impl fmt::Display for JsError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.display_text())
  }
}

impl std::error::Error for JsError {}

/// Why running JS through a [`crate::Runtime`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
  /// An exception escaped a script or module evaluation; it has not been printed.
  #[error("Uncaught {0}")]
  Exception(JsError),
  /// Errors were reported while the event loop ran (a throwing listener or timer, an unhandled
  /// rejection) and no `error`/`unhandledrejection` listener canceled them. They have already
  /// been printed to the runtime's stderr as they happened.
  #[error("{count} uncaught error(s); the first: {first}")]
  Uncaught {
    /// The first of them.
    first: JsError,
    /// How many there were.
    count: usize,
  },
  /// A module could not be read, resolved or compiled.
  #[error("{0}")]
  Module(String),
  /// The top-level `await` of a module never settled: no work was left to settle it.
  #[error("top-level await in {0} never settled: the event loop ran out of work first")]
  StalledTopLevelAwait(String),
  /// The compatibility settings were invalid.
  #[error(transparent)]
  Compat(#[from] CompatError),
  /// A value could not be converted between JS and Rust.
  #[error("value conversion failed: {0}")]
  Conversion(String),
}

impl Error {
  /// Whether this error was already printed when it happened (so a CLI should not repeat it).
  pub fn was_reported(&self) -> bool {
    matches!(self, Error::Uncaught { .. })
  }
}
