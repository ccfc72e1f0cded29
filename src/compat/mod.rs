//! Compatibility dates and flags, resolved the way workerd resolves them: a date turns on every
//! flag whose enable date has passed, and explicit flags override the date one by one.
//!
//! The flags are data ([`FLAGS`]); [`Compat::new`] is the only place that interprets them and
//! [`crate::install`] is the only place that acts on them.

mod date;
mod flags;

pub use date::CompatDate;
pub use flags::{FLAGS, Flag, FlagSpec};

use thiserror::Error;

/// The newest compatibility date this build knows about. A later date is an error, because the
/// build cannot know what that date would turn on.
pub const NEWEST_COMPATIBILITY_DATE: &str = "2026-12-05";

/// A reason a compatibility date or flag list was rejected. Each message names the bad value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompatError {
  /// The date is not of the form `YYYY-MM-DD`.
  #[error("invalid compatibility date {0:?}: expected YYYY-MM-DD")]
  MalformedDate(String),
  /// The date has the right form but names no real day (month 13, February 30, ...).
  #[error("invalid compatibility date {0:?}: no such day")]
  ImpossibleDate(String),
  /// The date is newer than [`NEWEST_COMPATIBILITY_DATE`].
  #[error("compatibility date {date} is newer than the newest date this build supports ({newest})")]
  DateTooNew {
    /// The date that was given.
    date: String,
    /// The newest supported date.
    newest: &'static str,
  },
  /// No flag of that name exists.
  #[error("unknown compatibility flag {0:?}{1}")]
  UnknownFlag(String, String),
  /// A flag and its opposite were both given.
  #[error("compatibility flags {enable:?} and {disable:?} contradict each other")]
  Contradictory {
    /// The flag that turns the behaviour on.
    enable: &'static str,
    /// The flag that turns it off.
    disable: &'static str,
  },
  /// The same flag was given twice.
  #[error("compatibility flag {0:?} is given more than once")]
  Duplicate(String),
}

/// Resolved compatibility settings: which behaviours are on for one isolate.
///
/// ```
/// use v8_message_channel::{Compat, Flag};
/// let old = Compat::new("2024-01-01", &["expose_global_message_channel"]).unwrap();
/// assert!(old.is_enabled(Flag::ExposeGlobalMessageChannel));
/// let off = Compat::new("2026-01-01", &["no_expose_global_message_channel"]).unwrap();
/// assert!(!off.is_enabled(Flag::ExposeGlobalMessageChannel));
/// assert!(Compat::new("2024-02-30", &[]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compat {
  date: CompatDate,
  enabled: [bool; FLAGS.len()],
}

impl Compat {
  /// Resolves a compatibility date and a list of flag names.
  pub fn new(date: &str, flags: &[&str]) -> Result<Self, CompatError> {
    let date = CompatDate::parse(date)?;
    let newest = CompatDate::parse(NEWEST_COMPATIBILITY_DATE).expect("valid constant");
    if date > newest {
      return Err(CompatError::DateTooNew {
        date: date.to_string(),
        newest: NEWEST_COMPATIBILITY_DATE,
      });
    }
    let mut enabled = [false; FLAGS.len()];
    for (slot, spec) in enabled.iter_mut().zip(FLAGS) {
      *slot = spec.default_on(date);
    }
    // None: not named; Some(true/false): named by its enable/disable name.
    let mut explicit: [Option<bool>; FLAGS.len()] = [None; FLAGS.len()];
    for name in flags {
      let name = name.trim();
      let (index, on) = flags::lookup(name)
        .ok_or_else(|| CompatError::UnknownFlag(name.to_string(), flags::suggestion(name)))?;
      match explicit[index] {
        Some(prev) if prev == on => return Err(CompatError::Duplicate(name.to_string())),
        Some(_) => {
          return Err(CompatError::Contradictory {
            enable: FLAGS[index].enable,
            disable: FLAGS[index].disable,
          });
        }
        None => explicit[index] = Some(on),
      }
    }
    for (slot, choice) in enabled.iter_mut().zip(explicit) {
      if let Some(on) = choice {
        *slot = on;
      }
    }
    Ok(Self { date, enabled })
  }

  /// The newest supported date with no flags: what a new project gets.
  pub fn latest() -> Self {
    Self::new(NEWEST_COMPATIBILITY_DATE, &[]).expect("the newest date is valid")
  }

  /// The compatibility date these settings were resolved from.
  pub fn date(&self) -> CompatDate {
    self.date
  }

  /// Whether a behaviour is on.
  pub fn is_enabled(&self, flag: Flag) -> bool {
    self.enabled[flag as usize]
  }
}

impl Default for Compat {
  fn default() -> Self {
    Self::latest()
  }
}
