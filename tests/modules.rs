//! ES modules: import.meta, dynamic import(), JSON modules, the module loader and its errors.

use crate::setup::{Captured, Outcome, block_on, runtime_from, runtime_with};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use v8_message_channel::{
  Compat, Error, FsModuleLoader, ModuleLoader, ModuleSource, ModuleType, Runtime, RuntimeOptions,
  Url,
};

/// A fresh directory holding `files` (path, contents), removed when dropped.
struct Files(PathBuf);

impl Files {
  fn new(name: &str, files: &[(&str, &[u8])]) -> Self {
    let dir = std::env::temp_dir().join(format!("v8mc-modules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, contents) in files {
      let path = dir.join(path);
      std::fs::create_dir_all(path.parent().unwrap()).unwrap();
      std::fs::write(path, contents).unwrap();
    }
    Files(dir)
  }

  fn path(&self, name: &str) -> PathBuf {
    self.0.join(name)
  }

  fn url(&self, name: &str) -> String {
    Url::from_file_path(self.path(name)).unwrap().into()
  }
}

impl Drop for Files {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.0);
  }
}

fn outcome(runtime: &mut Runtime, captured: &Captured, started: Result<(), Error>) -> Outcome {
  let result = started.and_then(|()| block_on(runtime.run_event_loop()));
  let (stdout, stderr) = captured.borrow().clone();
  Outcome {
    stdout,
    stderr,
    result,
  }
}

/// Runs the module `main` and its event loop in a runtime made with `options`.
fn run_module_with(options: RuntimeOptions, main: &Path) -> Outcome {
  let (mut runtime, captured) = runtime_from(options);
  let started = runtime.execute_module(main);
  outcome(&mut runtime, &captured, started)
}

fn run_module(main: &Path) -> Outcome {
  run_module_with(RuntimeOptions::default(), main)
}

/// Runs `source` as a classic script named `name` (a path) and its event loop.
fn run_script_named(name: &Path, source: &str) -> Outcome {
  let (mut runtime, captured) = runtime_with(Compat::latest());
  let started = runtime.execute_script(&name.to_string_lossy(), source);
  outcome(&mut runtime, &captured, started)
}

#[test]
fn import_meta_names_the_module_by_url() {
  let files = Files::new(
    "meta",
    &[(
      "dir with space/main.mjs",
      br#"
      console.log(import.meta.url);
      console.log(import.meta.main, import.meta.filename, import.meta.dirname);
      console.log(import.meta.resolve("./lib/x.mjs"), import.meta.resolve("../up.json"));
      console.log(import.meta.resolve("/abs/y.js"), import.meta.resolve("file:///z.js"));
      try { import.meta.resolve("bare"); } catch (e) { console.log(e.name, e.message.includes('"bare"')); }
      try { import.meta.resolve("v8mc:00_core.js"); } catch (e) { console.log(e.name); }
      const { meta } = await import("./lib/helper.mjs");
      console.log(meta.url.endsWith("/lib/helper.mjs"), meta.main);
      "#,
    ), (
      "dir with space/lib/helper.mjs",
      b"export const meta = import.meta;\n",
    )],
  );
  let main = files.path("dir with space/main.mjs");
  let out = run_module(&main);
  out.expect_ok();
  let url = files.url("dir with space/main.mjs");
  assert!(url.contains("dir%20with%20space"), "{url}");
  let dir = files.path("dir with space");
  let base = url.trim_end_matches("main.mjs");
  let parent = files.url("up.json");
  assert_eq!(
    out.lines(),
    [
      url.as_str(),
      &format!("true {} {}", main.display(), dir.display()),
      &format!("{base}lib/x.mjs {parent}"),
      "file:///abs/y.js file:///z.js",
      "TypeError true",
      "TypeError",
      "true false",
    ]
  );
}

#[test]
fn internal_modules_keep_their_own_urls() {
  let out = crate::setup::run(
    r#"
    try { new MessageEvent(); } catch (e) { console.log(e.stack.includes("v8mc:04_message_event.js")); }
    import("v8mc:00_core.js").catch((e) => console.log(e.name, e.message.includes("private")));
    "#,
  );
  out.expect_ok();
  assert_eq!(out.lines(), ["true", "TypeError true"]);
}

#[test]
fn dynamic_import_from_modules_scripts_timers_and_listeners() {
  let files = Files::new(
    "dynamic",
    &[
      ("lib/counter.mjs", b"export let count = 0;\nexport function bump() { return ++count; }\n"),
      ("lib/slow.mjs", b"await new Promise((r) => setTimeout(r, 5));\nexport const ready = 'after top-level await';\n"),
      ("lib/a.mjs", b"import { b } from './b.mjs';\nexport const a = 'a';\nexport const fromB = () => b;\n"),
      ("lib/b.mjs", b"import { a } from './a.mjs';\nexport const b = 'b';\nexport const fromA = () => a;\n"),
      (
        "main.mjs",
        br#"
        const one = await import("./lib/counter.mjs");
        const two = await import(import.meta.resolve("./lib/counter.mjs"));
        const three = await import(import.meta.dirname + "/lib/counter.mjs");
        console.log("same namespace", one === two && two === three, one.bump(), three.count);
        console.log((await import("./lib/slow.mjs")).ready);
        const { fromB } = await import("./lib/a.mjs");
        const { fromA } = await import("./lib/b.mjs");
        console.log("cycle", fromB(), fromA());
        setTimeout(async () => {
          const m = await import("./lib/counter.mjs");
          console.log("timer", m.bump());
          const { port1, port2 } = new MessageChannel();
          port2.onmessage = async (e) => {
            const m = await import(e.data);
            console.log("listener", m.bump());
            port1.close();
          };
          port1.postMessage("./lib/counter.mjs");
        }, 1);
        "#,
      ),
      (
        "script.js",
        br#"
        import("./lib/counter.mjs").then((m) => console.log("classic", m.bump()));
        console.log("sync first");
        "#,
      ),
    ],
  );
  let out = run_module(&files.path("main.mjs"));
  out.expect_ok();
  assert_eq!(
    out.lines(),
    [
      "same namespace true 1 1",
      "after top-level await",
      "cycle b a",
      "timer 2",
      "listener 3",
    ]
  );
  let script = files.path("script.js");
  let source = std::fs::read_to_string(&script).unwrap();
  let out = run_script_named(&script, &source);
  out.expect_ok();
  assert_eq!(out.lines(), ["sync first", "classic 1"]);
}

#[test]
fn import_failures_are_type_errors_naming_the_specifier_and_importer() {
  let files = Files::new(
    "failures",
    &[
      ("bad.mjs", b"export const = 1;\n"),
      ("latin1.mjs", b"export const s = '\xe9t\xe9';\n"),
      ("big.mjs", &[b'/'; 2000]),
      ("dir/inner.mjs", b"export {};\n"),
      ("throws.mjs", b"throw new RangeError('at evaluation');\n"),
      (
        "main.mjs",
        br#"
        const show = async (specifier) => {
          try { await import(specifier); console.log("loaded", specifier); }
          catch (e) { console.log(e.constructor.name + ": " + e.message); }
        };
        await show("./missing.mjs");
        await show("./bad.mjs");
        await show("./dir");
        await show("./latin1.mjs");
        await show("./big.mjs");
        await show("https://example.com/x.mjs");
        await show("left-pad");
        await show("./throws.mjs");
        "#,
      ),
    ],
  );
  let options = RuntimeOptions {
    module_loader: Some(Rc::new(FsModuleLoader::with_max_size(1000))),
    ..Default::default()
  };
  let out = run_module_with(options, &files.path("main.mjs"));
  out.expect_ok();
  let main = files.url("main.mjs");
  let cannot_load = |name: &str, reason: &str| {
    format!(
      "TypeError: Cannot load module \"{}\" imported as \"./{name}\" from \"{main}\": {reason}",
      files.url(name)
    )
  };
  assert_eq!(
    out.lines(),
    [
      cannot_load("missing.mjs", "No such file or directory (os error 2)"),
      "SyntaxError: Unexpected token '='".to_string(),
      cannot_load("dir", "it is a directory"),
      cannot_load("latin1.mjs", "it is not valid UTF-8 (byte 18)"),
      cannot_load(
        "big.mjs",
        "it is 2000 bytes long, over the limit of 1000 bytes"
      ),
      format!(
        "TypeError: Cannot load module \"https://example.com/x.mjs\" imported as \"https://example.com/x.mjs\" from \"{main}\": the file-system loader serves file: URLs only, not https:"
      ),
      format!(
        "TypeError: Cannot resolve module specifier \"left-pad\" imported from \"{main}\": a bare specifier: only relative (./, ../), absolute (/) and URL specifiers resolve"
      ),
      "RangeError: at evaluation".to_string(),
    ]
  );
}

#[test]
fn an_uncaught_import_failure_is_reported() {
  let files = Files::new("uncaught", &[("main.mjs", b"import('./nowhere.mjs');\n")]);
  let out = run_module(&files.path("main.mjs"));
  assert!(
    matches!(&out.result, Err(Error::Uncaught { count: 1, first }) if first.message.contains("nowhere.mjs")),
    "{:?}",
    out.result
  );
  assert!(
    out
      .stderr
      .starts_with("Uncaught (in promise) TypeError: Cannot load module"),
    "{}",
    out.stderr
  );
}

#[test]
fn static_import_failures_fail_the_module() {
  let files = Files::new(
    "static",
    &[
      ("missing.mjs", b"import './nowhere.mjs';\n"),
      ("syntax.mjs", b"import './bad.mjs';\n"),
      ("bad.mjs", b"export default +;\n"),
      ("data.json", b"{\"a\": 1}\n"),
      ("untyped.mjs", b"import d from './data.json';\n"),
    ],
  );
  let message = |name: &str| {
    let (mut runtime, _) = runtime_with(Compat::latest());
    match runtime.execute_module(files.path(name)) {
      Err(Error::Exception(e)) => e.message,
      other => panic!("{name}: {other:?}"),
    }
  };
  assert_eq!(
    message("missing.mjs"),
    format!(
      "TypeError: Cannot load module \"{}\" imported as \"./nowhere.mjs\" from \"{}\": No such file or directory (os error 2)",
      files.url("nowhere.mjs"),
      files.url("missing.mjs")
    )
  );
  assert_eq!(message("syntax.mjs"), "SyntaxError: Unexpected token ';'");
  assert!(
    message("untyped.mjs").ends_with("it is a JSON module: import it with { type: \"json\" }"),
    "{}",
    message("untyped.mjs")
  );
}

#[test]
fn json_modules_need_the_json_type() {
  let files = Files::new(
    "json",
    &[
      (
        "data.json",
        "{\"name\": \"v8mc\", \"list\": [1, 2, 3], \"é\": true}\n".as_bytes(),
      ),
      ("broken.json", b"{\"a\": }"),
      (
        "other.json",
        b"{\"first\": \"import() of a JSON module not loaded before\"}",
      ),
      ("code.mjs", b"export default 1;\n"),
      (
        "main.mjs",
        br#"
        const first = await import("./other.json", { with: { type: "json" } });
        console.log(first.default.first);
        import data from "./data.json" with { type: "json" };
        console.log(data.name, data.list.length, data["\u00e9"]);
        const again = await import("./data.json", { with: { type: "json" } });
        console.log("same value", again.default === data, Object.keys(again).join());
        const show = async (specifier, options) => {
          try { await import(specifier, options); console.log("loaded", specifier); }
          catch (e) { console.log(e.constructor.name + ": " + e.message); }
        };
        await show("./data.json");
        await show("./data.json", { with: { type: "css" } });
        await show("./data.json", { with: { type: "javascript" } });
        await show("./data.json", { with: { kind: "json" } });
        await show("./code.mjs", { with: { type: "json" } });
        await show("./broken.json", { with: { type: "json" } });
        "#,
      ),
    ],
  );
  let out = run_module(&files.path("main.mjs"));
  out.expect_ok();
  let main = files.url("main.mjs");
  assert_eq!(
    out.lines(),
    [
      "import() of a JSON module not loaded before".to_string(),
      "v8mc 3 true".to_string(),
      "same value true default".to_string(),
      format!(
        "TypeError: Cannot load module \"{}\" imported as \"./data.json\" from \"{main}\": it is a JSON module: import it with {{ type: \"json\" }}",
        files.url("data.json")
      ),
      "TypeError: Import attribute type \"css\" is not supported (only \"json\" is)".to_string(),
      "TypeError: Import attribute type \"javascript\" is not supported (only \"json\" is)"
        .to_string(),
      "SyntaxError: Import attribute \"kind\" is not supported (only \"type\" is)".to_string(),
      format!(
        "TypeError: Cannot load module \"{}\" imported as \"./code.mjs\" from \"{main}\": it was imported with {{ type: \"json\" }} but is not JSON",
        files.url("code.mjs")
      ),
      format!(
        "SyntaxError: {} is not valid JSON: Unexpected token '}}', \"{{\"a\": }}\" is not valid JSON",
        files.url("broken.json")
      ),
    ]
  );
}

#[test]
fn stack_traces_name_the_module_url_line_and_column() {
  let files = Files::new(
    "stacks",
    &[
      ("lib/thrower.mjs", b"export function fail() {\n  throw new Error('deep');\n}\n"),
      (
        "main.mjs",
        b"const { fail } = await import('./lib/thrower.mjs');\ntry { fail(); } catch (e) { console.log(e.stack); }\n",
      ),
    ],
  );
  let out = run_module(&files.path("main.mjs"));
  out.expect_ok();
  assert_eq!(
    out.lines(),
    [
      "Error: deep".to_string(),
      format!("    at fail ({}:2:9)", files.url("lib/thrower.mjs")),
      format!("    at {}:2:7", files.url("main.mjs")),
    ]
  );
}

/// Serves modules from memory: `redirect:NAME` resolves to `mem:///NAME`, `secret` is refused.
struct MemoryLoader;

impl ModuleLoader for MemoryLoader {
  fn resolve(&self, specifier: &str, referrer: &Url) -> Result<Url, String> {
    match specifier.strip_prefix("redirect:") {
      Some(name) => Url::parse(&format!("mem:///{name}")).map_err(|e| e.to_string()),
      None => v8_message_channel::resolve_specifier(specifier, referrer),
    }
  }

  fn load(&self, url: &Url) -> Result<ModuleSource, String> {
    let code = match url.path() {
      "/greeting.mjs" => "export default `hello from ${import.meta.url}`;",
      "/config.json" => "{\"answer\": 42}",
      "/secret.mjs" => return Err("the embedder refuses to load it".into()),
      other => return Err(format!("no module {other}")),
    };
    let module_type = if url.path().ends_with(".json") {
      ModuleType::Json
    } else {
      ModuleType::JavaScript
    };
    Ok(ModuleSource {
      code: code.to_string(),
      module_type,
    })
  }
}

#[test]
fn the_embedder_loader_can_redirect_and_refuse() {
  let (mut runtime, captured) = runtime_from(RuntimeOptions {
    module_loader: Some(Rc::new(MemoryLoader)),
    ..Default::default()
  });
  let started = runtime.execute_module_source(
    "mem:///main.mjs",
    r#"
    import greeting from "redirect:greeting.mjs";
    import config from "./config.json" with { type: "json" };
    console.log(greeting, config.answer, import.meta.resolve("redirect:x"));
    try { await import("./secret.mjs"); } catch (e) { console.log(e.name + ": " + e.message); }
    "#,
  );
  let out = outcome(&mut runtime, &captured, started);
  out.expect_ok();
  assert_eq!(
    out.lines(),
    [
      "hello from mem:///greeting.mjs 42 mem:///x",
      "TypeError: Cannot load module \"mem:///secret.mjs\" imported as \"./secret.mjs\" from \"mem:///main.mjs\": the embedder refuses to load it",
    ]
  );
}
