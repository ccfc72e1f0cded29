//! The web-platform-tests runner behind `v8mc wpt`: test selection, `META` handling, one child
//! process per file, expectations and wptreport JSON. The WPT files are read from a checkout
//! (`--wpt-root`, `$WPT_ROOT` or `../shared/wpt`), never copied into this repository.

mod expectations;
mod meta;
mod report;
mod runner;
mod test_file;

pub use expectations::{ALL, Expectations, HARNESS};
pub use meta::Meta;
pub use report::{FileResult, FileStatus, SubtestResult, SubtestStatus};
pub use runner::{DEFAULT_SCOPE, RunSummary, WptOptions, glob_match, run, select_tests};
pub use test_file::run_test_file;
