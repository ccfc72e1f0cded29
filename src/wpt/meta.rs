//! The `// META:` lines of a test file
//! (<https://web-platform-tests.org/writing-tests/testharness.html#tests-for-other-or-multiple-globals>)
//! and the inline scripts of an `.html` test.

/// What a test file asks of its runner.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Meta {
  /// `// META: title=`.
  pub title: Option<String>,
  /// `// META: script=` paths, in order.
  pub scripts: Vec<String>,
  /// `// META: timeout=long`.
  pub long_timeout: bool,
  /// `// META: global=` scopes (defaults to window and dedicatedworker).
  pub globals: Vec<String>,
}

/// Global scopes this runner can stand in for: no document, no window.
const WINDOWLESS: &[&str] = &[
  "worker",
  "dedicatedworker",
  "dedicatedworker-module",
  "sharedworker",
  "sharedworker-module",
  "serviceworker",
  "serviceworker-module",
  "jsshell",
  "shadowrealm",
];

impl Meta {
  /// Reads the `// META:` lines at the top of `source`.
  pub fn parse(source: &str) -> Self {
    let mut meta = Meta::default();
    for line in source.lines() {
      let Some(rest) = line.trim_start().strip_prefix("// META:") else {
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
          continue;
        }
        break;
      };
      let Some((key, value)) = rest.trim().split_once('=') else {
        continue;
      };
      let value = value.trim().to_string();
      match key.trim() {
        "title" => meta.title = Some(value),
        "script" => meta.scripts.push(value),
        "timeout" => meta.long_timeout = value == "long",
        "global" => meta.globals.extend(
          value
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty()),
        ),
        _ => {}
      }
    }
    if meta.globals.is_empty() {
      meta.globals = vec!["window".into(), "dedicatedworker".into()];
    }
    meta
  }

  /// `Err(reason)` when none of the file's globals is window-less.
  pub fn runnable(&self) -> Result<(), String> {
    let ok = self
      .globals
      .iter()
      .any(|global| WINDOWLESS.contains(&global.as_str()) || global.starts_with("shadowrealm"));
    if ok {
      Ok(())
    } else {
      Err(format!(
        "global={} needs a window; this runner provides a worker-like scope only",
        self.globals.join(",")
      ))
    }
  }
}

/// A script of an `.html` test: inline source or a `src` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HtmlScript {
  /// The text between `<script>` and `</script>`.
  Inline(String),
  /// A `src` attribute other than the harness's own files.
  Src(String),
}

/// The scripts of an `.html` test in document order, without testharness.js and
/// testharnessreport.js (the runner loads its own).
pub fn html_scripts(html: &str) -> Vec<HtmlScript> {
  let mut scripts = Vec::new();
  let lower = html.to_ascii_lowercase();
  let mut at = 0;
  while let Some(start) = lower[at..].find("<script").map(|i| i + at) {
    let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
      break;
    };
    let Some(close) = lower[tag_end..].find("</script>").map(|i| i + tag_end) else {
      break;
    };
    let tag = &html[start..=tag_end];
    match src_attribute(tag) {
      Some(src) if src.ends_with("/testharness.js") || src.ends_with("/testharnessreport.js") => {}
      Some(src) => scripts.push(HtmlScript::Src(src)),
      None => scripts.push(HtmlScript::Inline(html[tag_end + 1..close].to_string())),
    }
    at = close + "</script>".len();
  }
  scripts
}

fn src_attribute(tag: &str) -> Option<String> {
  let lower = tag.to_ascii_lowercase();
  let index = lower.find("src=")?;
  let rest = &tag[index + 4..];
  let quote = rest.chars().next()?;
  if quote == '"' || quote == '\'' {
    rest[1..].split(quote).next().map(str::to_string)
  } else {
    rest
      .split(|c: char| c.is_whitespace() || c == '>')
      .next()
      .map(str::to_string)
  }
}
