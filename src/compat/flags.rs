//! The table of compatibility flags. Adding a behaviour switch is one entry here plus a variant of
//! [`Flag`]; the table test checks that names are unique and dates valid.

use super::CompatDate;

/// A switchable behaviour. The discriminant is the index of its entry in [`FLAGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Flag {
  /// `MessageChannel` and `MessagePort` are globals.
  ExposeGlobalMessageChannel = 0,
  /// `postMessage` and `structuredClone` transfer `MessagePort`s; off, a non-empty transfer
  /// list makes `postMessage` throw, as in workerd.
  MessagePortTransfer = 1,
  /// `SharedArrayBuffer`s are shared between isolates when posted or cloned, and
  /// `crossOriginIsolated` is true; off, cloning one is a `DataCloneError`.
  ShareSharedArrayBuffers = 2,
}

/// One entry of the flag table.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
  /// The behaviour this entry switches.
  pub flag: Flag,
  /// The flag name that turns the behaviour on before its date.
  pub enable: &'static str,
  /// The flag name that turns it off on any date.
  pub disable: &'static str,
  /// From this date on the behaviour is on by default (`None`: only by flag).
  pub enable_date: Option<&'static str>,
  /// What the behaviour is, for `--help` and the README.
  pub doc: &'static str,
}

impl FlagSpec {
  pub(super) fn default_on(&self, date: CompatDate) -> bool {
    self
      .enable_date
      .is_some_and(|d| date >= CompatDate::parse(d).expect("flag table dates are valid"))
  }
}

/// Every compatibility flag this build knows.
pub const FLAGS: [FlagSpec; 3] = [
  FlagSpec {
    flag: Flag::ExposeGlobalMessageChannel,
    enable: "expose_global_message_channel",
    disable: "no_expose_global_message_channel",
    enable_date: Some("2025-08-15"),
    doc: "MessageChannel and MessagePort are available as globals",
  },
  FlagSpec {
    flag: Flag::MessagePortTransfer,
    enable: "message_port_transfer",
    disable: "no_message_port_transfer",
    enable_date: Some("2026-12-05"),
    doc: "postMessage and structuredClone transfer MessagePorts (off: a non-empty transfer list \
          makes postMessage throw \"Transfer list is not supported\", as in workerd)",
  },
  FlagSpec {
    flag: Flag::ShareSharedArrayBuffers,
    enable: "share_shared_array_buffers",
    disable: "no_share_shared_array_buffers",
    enable_date: Some("2026-12-05"),
    doc: "SharedArrayBuffers are shared between isolates when posted or cloned, and \
          crossOriginIsolated is true (off: cloning one is a DataCloneError)",
  },
];

/// Finds a flag by either of its names: (table index, whether the name turns it on).
pub(super) fn lookup(name: &str) -> Option<(usize, bool)> {
  FLAGS.iter().enumerate().find_map(|(i, spec)| {
    if spec.enable == name {
      Some((i, true))
    } else if spec.disable == name {
      Some((i, false))
    } else {
      None
    }
  })
}

/// A "did you mean" hint for a misspelt flag, or an empty string.
pub(super) fn suggestion(name: &str) -> String {
  let normalized = name.to_ascii_lowercase().replace('-', "_");
  FLAGS
    .iter()
    .flat_map(|s| [s.enable, s.disable])
    .find(|known| *known == normalized || known.contains(&normalized) && normalized.len() > 6)
    .map(|known| format!(" (did you mean {known:?}?)"))
    .unwrap_or_default()
}
