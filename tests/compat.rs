//! Compatibility dates and flags: the table and every resolution error.

use v8_message_channel::{Compat, CompatError, FLAGS, Flag, NEWEST_COMPATIBILITY_DATE};

#[test]
fn flag_table_names_are_unique_and_dates_valid() {
  let mut names = std::collections::HashSet::new();
  for (index, spec) in FLAGS.iter().enumerate() {
    assert_eq!(
      spec.flag as usize, index,
      "table order matches the Flag discriminants"
    );
    assert!(names.insert(spec.enable), "duplicate {}", spec.enable);
    assert!(names.insert(spec.disable), "duplicate {}", spec.disable);
    assert_eq!(spec.disable, format!("no_{}", spec.enable));
    if let Some(date) = spec.enable_date {
      assert!(
        Compat::new(date, &[]).is_ok(),
        "{date} must be a valid, supported date"
      );
    }
  }
}

#[test]
fn the_date_turns_message_channel_on_from_2025_08_15() {
  let on = |date: &str| {
    Compat::new(date, &[])
      .unwrap()
      .is_enabled(Flag::ExposeGlobalMessageChannel)
  };
  assert!(!on("2025-08-14"));
  assert!(on("2025-08-15"));
  assert!(on(NEWEST_COMPATIBILITY_DATE));
  assert!(!on("2000-01-01"));
  assert!(Compat::latest().is_enabled(Flag::ExposeGlobalMessageChannel));
}

#[test]
fn flags_override_the_date() {
  let compat = Compat::new("2024-01-01", &["expose_global_message_channel"]).unwrap();
  assert!(compat.is_enabled(Flag::ExposeGlobalMessageChannel));
  let compat = Compat::new("2026-01-01", &["no_expose_global_message_channel"]).unwrap();
  assert!(!compat.is_enabled(Flag::ExposeGlobalMessageChannel));
  // Naming a flag the date already turns on is allowed and changes nothing.
  let compat = Compat::new("2026-01-01", &["expose_global_message_channel"]).unwrap();
  assert!(compat.is_enabled(Flag::ExposeGlobalMessageChannel));
  assert_eq!(compat.date().to_string(), "2026-01-01");
}

#[test]
fn malformed_and_impossible_dates_are_rejected() {
  for bad in [
    "",
    "2025-8-15",
    "2025/08/15",
    "20250815",
    "2025-08-15T00:00",
    "abcd-ef-gh",
    " 2025-08-15",
  ] {
    assert_eq!(
      Compat::new(bad, &[]),
      Err(CompatError::MalformedDate(bad.to_string())),
      "{bad:?}"
    );
  }
  for bad in [
    "2025-13-01",
    "2025-00-10",
    "2025-02-29",
    "2025-04-31",
    "2025-01-00",
  ] {
    assert_eq!(
      Compat::new(bad, &[]),
      Err(CompatError::ImpossibleDate(bad.to_string()))
    );
  }
  assert!(Compat::new("2024-02-29", &[]).is_ok(), "leap day");
  let err = Compat::new("2025-02-30", &[]).unwrap_err();
  assert_eq!(
    err.to_string(),
    "invalid compatibility date \"2025-02-30\": no such day"
  );
}

#[test]
fn dates_newer_than_the_build_are_rejected() {
  let err = Compat::new("2099-01-01", &[]).unwrap_err();
  assert!(matches!(err, CompatError::DateTooNew { .. }));
  assert!(
    err.to_string().contains("2099-01-01") && err.to_string().contains(NEWEST_COMPATIBILITY_DATE)
  );
}

#[test]
fn unknown_duplicate_and_contradictory_flags_are_rejected() {
  let err = Compat::new("2025-01-01", &["expose_message_channel_please"]).unwrap_err();
  assert!(
    matches!(&err, CompatError::UnknownFlag(name, _) if name == "expose_message_channel_please")
  );
  let err = Compat::new("2025-01-01", &["expose-global-message-channel"]).unwrap_err();
  assert!(
    err
      .to_string()
      .contains("did you mean \"expose_global_message_channel\""),
    "{err}"
  );
  let err = Compat::new(
    "2025-01-01",
    &[
      "expose_global_message_channel",
      "no_expose_global_message_channel",
    ],
  )
  .unwrap_err();
  assert_eq!(
    err.to_string(),
    "compatibility flags \"expose_global_message_channel\" and \"no_expose_global_message_channel\" contradict each other"
  );
  let err = Compat::new(
    "2025-01-01",
    &[
      "expose_global_message_channel",
      "expose_global_message_channel",
    ],
  )
  .unwrap_err();
  assert!(matches!(err, CompatError::Duplicate(_)));
}
