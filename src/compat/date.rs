//! `YYYY-MM-DD` compatibility dates, validated down to the day.

use super::CompatError;
use std::fmt;

/// A validated calendar date. Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompatDate {
  year: u16,
  month: u8,
  day: u8,
}

impl CompatDate {
  /// Parses `YYYY-MM-DD`, rejecting other shapes and days that do not exist.
  pub fn parse(text: &str) -> Result<Self, CompatError> {
    let malformed = || CompatError::MalformedDate(text.to_string());
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
      && bytes[4] == b'-'
      && bytes[7] == b'-'
      && bytes
        .iter()
        .enumerate()
        .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
      return Err(malformed());
    }
    let num = |range: std::ops::Range<usize>| text[range].parse::<u16>().map_err(|_| malformed());
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
      return Err(CompatError::ImpossibleDate(text.to_string()));
    }
    Ok(Self {
      year,
      month: month as u8,
      day: day as u8,
    })
  }
}

fn days_in_month(year: u16, month: u16) -> u16 {
  match month {
    2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
    2 => 28,
    4 | 6 | 9 | 11 => 30,
    _ => 31,
  }
}

impl fmt::Display for CompatDate {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
  }
}
