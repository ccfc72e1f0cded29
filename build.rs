//! Embeds the JS half of the web classes (`js/*.js`) into the library as a table of
//! (specifier, source) pairs in load order. This is also where a V8 startup snapshot would be
//! built from the same sources.

use std::{env, fs, path::Path};

fn main() {
  let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
  println!("cargo:rerun-if-changed={}", dir.display());
  let mut files: Vec<_> = fs::read_dir(&dir)
    .expect("js/ exists")
    .map(|entry| entry.expect("readable js/ entry").path())
    .filter(|path| path.extension().is_some_and(|ext| ext == "js"))
    .collect();
  files.sort();
  let mut out = String::from("/// The internal modules, sorted by their load-order prefix.\n");
  out.push_str("pub(crate) static JS_SOURCES: &[(&str, &str)] = &[\n");
  for path in &files {
    println!("cargo:rerun-if-changed={}", path.display());
    let name = path.file_name().unwrap().to_str().expect("UTF-8 file name");
    out.push_str(&format!(
      "  (\"v8mc:{name}\", include_str!({:?})),\n",
      path.display().to_string()
    ));
  }
  out.push_str("];\n");
  let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("js_sources.rs");
  fs::write(dest, out).expect("write js_sources.rs");
}
