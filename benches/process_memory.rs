//! The process's memory as the kernel sees it, for the benchmarks that watch RSS over rounds.

/// Gives the memory malloc keeps for reuse back to the kernel, so that RSS shows what is held,
/// not what glibc keeps around (it keeps most of a burst's freed memory otherwise).
pub fn trim() {
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  // SAFETY: malloc_trim only returns free memory of malloc's heaps to the kernel.
  unsafe {
    libc::malloc_trim(0);
  }
}

/// The resident set size in KiB (0 where /proc is not there).
pub fn rss_kib() -> u64 {
  // /proc/self/statm: sizes in pages; the second field is the resident set.
  let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
  let pages: u64 = statm
    .split_whitespace()
    .nth(1)
    .and_then(|p| p.parse().ok())
    .unwrap_or(0);
  pages * 4
}
