//! Where user modules come from: the [`ModuleLoader`] hook an embedder may replace, the
//! file-system loader that is the default, and the URL resolution of import specifiers.

use std::path::Path;
use url::Url;

/// What a module's code is: JavaScript, or JSON imported `with { type: "json" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleType {
  /// A JavaScript module (an import without a `type` attribute).
  JavaScript,
  /// A JSON module (`with { type: "json" }`): the parsed value is its default export.
  Json,
}

/// A module's code as a [`ModuleLoader`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSource {
  /// The source text.
  pub code: String,
  /// What the code is. An import whose `type` attribute says otherwise fails with a
  /// `TypeError`, as a browser fails a script whose MIME type does not match.
  pub module_type: ModuleType,
}

/// Resolves and loads the user modules of a runtime: the static imports of
/// [`crate::Runtime::execute_module`]'s graph, `import()` and `import.meta.resolve`.
///
/// An embedder can refuse a load (return `Err`: the import fails with a `TypeError` naming the
/// specifier, the importer and the reason), redirect one (resolve a specifier to another URL,
/// for example a bare `"lib"` to a vendored file), or serve URLs from elsewhere (a cache, an
/// archive). The default is [`FsModuleLoader`].
///
/// ```
/// use v8_message_channel::{FsModuleLoader, ModuleLoader, ModuleSource, Url};
///
/// /// Serves files under one directory and nothing else.
/// struct Sandboxed { root: Url, files: FsModuleLoader }
///
/// impl ModuleLoader for Sandboxed {
///   fn load(&self, url: &Url) -> Result<ModuleSource, String> {
///     if !url.as_str().starts_with(self.root.as_str()) {
///       return Err(format!("{url} is outside {}", self.root));
///     }
///     self.files.load(url)
///   }
/// }
/// ```
pub trait ModuleLoader {
  /// The URL `specifier` names when the module or script at `referrer` imports it. The
  /// default is [`resolve_specifier`]; an `Err` fails the import with a `TypeError`.
  fn resolve(&self, specifier: &str, referrer: &Url) -> Result<Url, String> {
    resolve_specifier(specifier, referrer)
  }

  /// The code at `url` (a URL that [`ModuleLoader::resolve`] returned); an `Err` says why it
  /// cannot be loaded.
  fn load(&self, url: &Url) -> Result<ModuleSource, String>;
}

/// The URL resolution of import specifiers browsers and Deno use: `./`, `../` and `/` are
/// relative to the referrer's URL, anything that parses as a URL is taken as it is, and bare
/// specifiers (`"lodash"`) are refused, as there is no import map.
pub fn resolve_specifier(specifier: &str, referrer: &Url) -> Result<Url, String> {
  if specifier.starts_with("./") || specifier.starts_with("../") || specifier.starts_with('/') {
    return referrer.join(specifier).map_err(|e| e.to_string());
  }
  match Url::parse(specifier) {
    Ok(url) => Ok(url),
    Err(url::ParseError::RelativeUrlWithoutBase) => Err(
      "a bare specifier: only relative (./, ../), absolute (/) and URL specifiers resolve".into(),
    ),
    Err(e) => Err(e.to_string()),
  }
}

/// The largest module file [`FsModuleLoader::default`] reads: 64 MiB.
pub const MAX_MODULE_SIZE: u64 = 64 << 20;

/// The default [`ModuleLoader`]: `file:` URLs from the file system. A `.json` file is a JSON
/// module, anything else JavaScript; a directory, a file that is not UTF-8 or one larger than
/// the size limit is refused, and so is any other URL scheme.
#[derive(Debug, Clone)]
pub struct FsModuleLoader {
  max_size: u64,
}

impl Default for FsModuleLoader {
  fn default() -> Self {
    Self {
      max_size: MAX_MODULE_SIZE,
    }
  }
}

impl FsModuleLoader {
  /// A loader that refuses files larger than `bytes`.
  pub fn with_max_size(bytes: u64) -> Self {
    Self { max_size: bytes }
  }
}

impl ModuleLoader for FsModuleLoader {
  fn load(&self, url: &Url) -> Result<ModuleSource, String> {
    if url.scheme() != "file" {
      return Err(format!(
        "the file-system loader serves file: URLs only, not {}:",
        url.scheme()
      ));
    }
    let path = url
      .to_file_path()
      .map_err(|()| "not a path on this machine".to_string())?;
    let metadata = std::fs::metadata(&path).map_err(|e| e.to_string())?;
    if metadata.is_dir() {
      return Err("it is a directory".into());
    }
    let too_large = |size: u64| {
      format!(
        "it is {size} bytes long, over the limit of {} bytes",
        self.max_size
      )
    };
    if metadata.len() > self.max_size {
      return Err(too_large(metadata.len()));
    }
    let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    // It may have grown since the metadata was read.
    if bytes.len() as u64 > self.max_size {
      return Err(too_large(bytes.len() as u64));
    }
    let mut code = String::from_utf8(bytes).map_err(|e| {
      format!(
        "it is not valid UTF-8 (byte {})",
        e.utf8_error().valid_up_to()
      )
    })?;
    if code.starts_with('\u{feff}') {
      code.drain(..3);
    }
    Ok(ModuleSource {
      code,
      module_type: module_type_of(&path),
    })
  }
}

fn module_type_of(path: &Path) -> ModuleType {
  if path.extension().is_some_and(|ext| ext == "json") {
    ModuleType::Json
  } else {
    ModuleType::JavaScript
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn specifiers_resolve_as_urls() {
    let referrer = Url::parse("file:///app/src/main.js").unwrap();
    let resolve = |s| resolve_specifier(s, &referrer).map(String::from);
    assert_eq!(resolve("./a.js").unwrap(), "file:///app/src/a.js");
    assert_eq!(
      resolve("../lib/b c.js").unwrap(),
      "file:///app/lib/b%20c.js"
    );
    assert_eq!(resolve("/abs/x.mjs").unwrap(), "file:///abs/x.mjs");
    assert_eq!(resolve("file:///y.js").unwrap(), "file:///y.js");
    assert_eq!(resolve("https://e.com/z.js").unwrap(), "https://e.com/z.js");
    assert!(resolve("lodash").unwrap_err().contains("bare specifier"));
  }
}
