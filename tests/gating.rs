//! The compatibility settings decide which globals exist.

use crate::setup::run_with;
use v8_message_channel::Compat;

fn globals(date: &str, flags: &[&str]) -> String {
  let outcome = run_with(
    Compat::new(date, flags).unwrap(),
    "console.log(typeof MessageChannel, typeof MessagePort, typeof EventTarget, typeof structuredClone, typeof MessageEvent)",
  );
  outcome.expect_ok();
  outcome.stdout.trim().to_string()
}

#[test]
fn message_channel_is_global_from_its_enable_date() {
  assert_eq!(
    globals("2025-08-15", &[]),
    "function function function function function"
  );
  assert_eq!(
    globals("2025-08-14", &[]),
    "undefined undefined function function function"
  );
}

#[test]
fn the_enable_flag_exposes_it_earlier() {
  assert_eq!(
    globals("2021-01-01", &["expose_global_message_channel"]),
    "function function function function function"
  );
}

#[test]
fn the_disable_flag_removes_it_on_any_date() {
  for date in [
    "2021-01-01",
    "2025-08-15",
    v8_message_channel::NEWEST_COMPATIBILITY_DATE,
  ] {
    assert_eq!(
      globals(date, &["no_expose_global_message_channel"]),
      "undefined undefined function function function"
    );
  }
}
