//! Soak, the short form run in CI (the long form is benches/soak.rs, whose scenarios these are,
//! with fewer and smaller rounds): every message arrives once and in order, every port is
//! freed at the end, and the process RSS after each round stays within 50 % of the RSS after
//! the first (a generous bound: the bench's goal is 10 %). Nothing here is timed.
//!
//! RSS is the whole process's, and the other tests of this binary run in parallel threads: each
//! test re-runs itself alone in a child process (this test binary, filtered to that test) and
//! measures there.

#[allow(dead_code)]
#[path = "../benches/soak.rs"]
mod bench;

use crate::setup::in_own_process;
use bench::Report;

/// RSS after each round within 50 % of the RSS after the first.
#[track_caller]
fn assert_rss_stays_flat(report: &Report) {
  let first = report.rounds[0].rss_kib;
  assert!(first > 0, "RSS read from /proc/self/statm");
  for (index, round) in report.rounds.iter().enumerate() {
    assert!(
      round.rss_kib * 2 <= first * 3,
      "round {}: RSS {} KiB, more than 150 % of the first round's {first} KiB",
      index + 1,
      round.rss_kib
    );
  }
}

#[test]
fn messages_through_one_channel_arrive_in_order_and_memory_stays_flat() {
  in_own_process(
    "soak::messages_through_one_channel_arrive_in_order_and_memory_stays_flat",
    || {
      let report = bench::messages(6, 20_000, 2_000);
      for round in &report.rounds {
        // The receiver threw at the first message out of order; these are all of them.
        assert_eq!(round.checked, 20_000);
        assert_eq!(round.queued, 0);
        // The channel itself, kept between rounds.
        assert_eq!(round.live_ports, 2);
      }
      assert_eq!(report.live_ports_at_end, 0);
      assert_rss_stays_flat(&report);
    },
  );
}

#[test]
fn channels_made_and_dropped_are_all_freed_and_memory_stays_flat() {
  in_own_process(
    "soak::channels_made_and_dropped_are_all_freed_and_memory_stays_flat",
    || {
      let report = bench::channels(6, 4_000);
      for round in &report.rounds {
        // A quarter delivered a message, a quarter heard close.
        assert_eq!(round.checked, 2_000);
        assert_eq!(round.live_ports, 0);
        assert_eq!(round.queued, 0);
      }
      assert_rss_stays_flat(&report);
    },
  );
}

#[test]
fn ports_moved_between_threads_arrive_echo_and_are_freed_and_memory_stays_flat() {
  in_own_process(
    "soak::ports_moved_between_threads_arrive_echo_and_are_freed_and_memory_stays_flat",
    || {
      let report = bench::moves(6, 500);
      for round in &report.rounds {
        // Each port's echo and its return, checked in order.
        assert_eq!(round.checked, 1_000);
        assert_eq!(round.live_ports, 0);
        assert_eq!(round.other_live_ports, 0);
        assert_eq!(round.queued, 0);
      }
      assert_eq!(report.live_ports_at_end, 0);
      assert_rss_stays_flat(&report);
    },
  );
}
