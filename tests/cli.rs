//! The `v8mc` binary: output, exit statuses and option errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn v8mc(args: &[&str]) -> Output {
  Command::new(env!("CARGO_BIN_EXE_v8mc"))
    .args(args)
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .output()
    .expect("v8mc runs")
}

fn script(name: &str, source: &str) -> PathBuf {
  let dir = std::env::temp_dir().join(format!("v8mc-cli-{}", std::process::id()));
  std::fs::create_dir_all(&dir).unwrap();
  let path = dir.join(name);
  std::fs::write(&path, source).unwrap();
  path
}

fn text(bytes: &[u8]) -> String {
  String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn runs_the_hello_example() {
  let out = v8mc(&["run", "examples/hello.js"]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  let stdout = text(&out.stdout);
  assert!(
    stdout.contains("port1 received: { reply: 'hello, world' }"),
    "{stdout}"
  );
  assert!(stdout.ends_with("port1 closed\nport2 closed\n"), "{stdout}");
}

#[test]
fn an_uncaught_error_prints_its_stack_and_exits_1() {
  let path = script(
    "throws.js",
    "function f() { throw new Error('kaput'); }\nf();\n",
  );
  let out = v8mc(&["run", path.to_str().unwrap()]);
  assert_eq!(out.status.code(), Some(1));
  let stderr = text(&out.stderr);
  assert!(
    stderr.contains("Error: kaput") && stderr.contains("throws.js:1"),
    "{stderr}"
  );

  let path = script(
    "listener.js",
    "const {port1, port2} = new MessageChannel();\nport2.onmessage = () => { throw new Error('in listener'); };\nport1.postMessage(1);\n",
  );
  let out = v8mc(&["run", path.to_str().unwrap()]);
  assert_eq!(out.status.code(), Some(1));
  let stderr = text(&out.stderr);
  assert_eq!(
    stderr.matches("in listener").count(),
    1,
    "printed once: {stderr}"
  );
}

#[test]
fn modules_run_by_extension_or_flag() {
  let path = script(
    "m.mjs",
    "const x = await Promise.resolve(7);\nconsole.log('module', x, typeof import.meta);\n",
  );
  let out = v8mc(&["run", path.to_str().unwrap()]);
  assert_eq!(
    text(&out.stdout),
    "module 7 object\n",
    "{}",
    text(&out.stderr)
  );
  let path = script("m2.js", "export const a = 1;\nconsole.log('as module');\n");
  let out = v8mc(&["run", "--module", path.to_str().unwrap()]);
  assert_eq!(text(&out.stdout), "as module\n", "{}", text(&out.stderr));
  let out = v8mc(&["run", path.to_str().unwrap()]);
  assert_eq!(
    out.status.code(),
    Some(1),
    "export in a classic script is a SyntaxError"
  );
}

#[test]
fn compatibility_options_gate_the_globals() {
  let path = script("gate.js", "console.log(typeof MessageChannel);\n");
  let p = path.to_str().unwrap();
  assert_eq!(text(&v8mc(&["run", p]).stdout), "function\n");
  assert_eq!(
    text(&v8mc(&["run", p, "--compatibility-date", "2025-01-01"]).stdout),
    "undefined\n"
  );
  let out = v8mc(&[
    "run",
    p,
    "--compatibility-date",
    "2025-01-01",
    "--compatibility-flags",
    "expose_global_message_channel",
  ]);
  assert_eq!(text(&out.stdout), "function\n");
  let out = v8mc(&[
    "run",
    p,
    "--compatibility-flags",
    "no_expose_global_message_channel",
  ]);
  assert_eq!(text(&out.stdout), "undefined\n");
}

#[test]
fn bad_options_and_missing_files_exit_2_with_one_line() {
  let path = script("ok.js", "console.log('never printed');\n");
  let p = path.to_str().unwrap();
  let cases: &[(&[&str], &str)] = &[
    (
      &["run", "does/not/exist.js"],
      "cannot read does/not/exist.js",
    ),
    (
      &["run", p, "--compatibility-date", "2025-02-30"],
      "no such day",
    ),
    (
      &["run", p, "--compatibility-date", "tomorrow"],
      "expected YYYY-MM-DD",
    ),
    (
      &["run", p, "--compatibility-date", "2999-01-01"],
      "newer than the newest date",
    ),
    (
      &["run", p, "--compatibility-flags", "nope"],
      "unknown compatibility flag \"nope\"",
    ),
    (
      &[
        "run",
        p,
        "--compatibility-flags",
        "expose_global_message_channel,no_expose_global_message_channel",
      ],
      "contradict each other",
    ),
    (
      &[
        "run",
        p,
        "--v8-flags=--max-old-space-size=64 --no-such-v8-flag",
      ],
      "unknown V8 flag \"--no-such-v8-flag\"",
    ),
  ];
  for (args, needle) in cases {
    let out = v8mc(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
      stderr.starts_with("error: ") && stderr.contains(needle),
      "{args:?}: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert_eq!(text(&out.stdout), "");
  }
  assert_eq!(v8mc(&["run"]).status.code(), Some(2));
  assert_eq!(v8mc(&["frobnicate"]).status.code(), Some(2));
  // Known V8 flags are passed on.
  let out = v8mc(&[
    "run",
    p,
    "--v8-flags",
    "--max-old-space-size=64 --stack-size=900",
  ]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  assert_eq!(text(&out.stdout), "never printed\n");
}

#[test]
fn help_documents_the_options_and_flags() {
  let out = v8mc(&["--help"]);
  assert_eq!(out.status.code(), Some(0));
  let help = text(&out.stdout);
  assert!(
    help.contains("expose_global_message_channel / no_expose_global_message_channel"),
    "{help}"
  );
  assert!(help.contains("2025-08-15"));
  let out = v8mc(&["run", "--help"]);
  let help = text(&out.stdout);
  for option in ["--compatibility-date", "--compatibility-flags", "--module"] {
    assert!(help.contains(option), "{help}");
  }
}

/// The same-isolate copy compiles its object literals with `new Function`; where code generation
/// from strings is off (an embedder's choice, here V8's flag), messages still arrive whole.
#[test]
fn messages_arrive_where_code_generation_is_disallowed() {
  let path = script(
    "no-eval.js",
    r#"
    try { new Function("return 1"); console.log("eval allowed"); } catch (e) { console.log(e.name); }
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => {
      const d = e.data;
      const plain = { a: d.a, x: d.__proto__x, p: d["__proto__"], n: d.self.n };
      console.log(JSON.stringify(plain), d.self.self === d.self, Object.keys(d).join());
      port1.close();
    };
    const cyclic = { n: 1 };
    cyclic.self = cyclic;
    port1.postMessage({ a: [1, [2, , 4]], __proto__x: { b: "c" }, self: cyclic, ["__proto__"]: 5 });
    "#,
  );
  let out = v8mc(&[
    "run",
    path.to_str().unwrap(),
    "--v8-flags=--disallow-code-generation-from-strings",
  ]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  let stdout = text(&out.stdout);
  let lines: Vec<&str> = stdout.lines().collect();
  assert_eq!(lines[0], "EvalError");
  assert_eq!(
    lines[1],
    r#"{"a":[1,[2,null,4]],"x":{"b":"c"},"p":5,"n":1} true a,__proto__x,self,__proto__"#
  );
}

/// The functions a script runs to make a channel, pass an object both ways and close are
/// compiled into the startup snapshot (`// @startup` in js/, see build.rs), so none of the
/// internal modules' functions compiles on first call here. V8's function-event log says which
/// did: add `// @startup` above each one it names.
#[test]
fn startup_path_is_compiled_ahead() {
  let path = script(
    "startup-path.js",
    r#"
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = (e) => { port2.postMessage(e.data); };
    port1.onmessage = (e) => { if (e.data.n[1] !== 2) throw new Error("bad copy"); port1.close(); };
    port1.postMessage({ hello: "world", n: [1, 2] });
    "#,
  );
  let log = path.with_file_name("function-events.log");
  let _ = std::fs::remove_file(&log);
  let flags = format!(
    "--v8-flags=--log-function-events --no-logfile-per-isolate --logfile={}",
    log.display()
  );
  let out = v8mc(&["run", path.to_str().unwrap(), &flags]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  let log = std::fs::read_to_string(&log).expect("V8 wrote its log");
  // `script-details,<id>,<name>,...` names the scripts; `function,parse-function,<script id>,
  // <start>,<end>,<ms>,<timestamp>,<function>` is a function compiled on its first call.
  let internal: std::collections::HashSet<&str> = log
    .lines()
    .filter_map(|line| line.strip_prefix("script-details,"))
    .filter_map(|rest| rest.split_once(','))
    .filter(|(_, rest)| rest.starts_with("v8mc:"))
    .map(|(id, _)| id)
    .collect();
  assert!(
    !internal.is_empty(),
    "the log names no internal module:\n{log}"
  );
  let compiled_late: Vec<&str> = log
    .lines()
    .filter(|line| {
      let fields: Vec<&str> = line.split(',').collect();
      fields.len() > 2
        && fields[0] == "function"
        && fields[1] == "parse-function"
        && internal.contains(fields[2])
    })
    .collect();
  assert!(
    compiled_late.is_empty(),
    "compiled on first call (script id, start, end, ms, time, name):\n{}",
    compiled_late.join("\n")
  );
}

fn v8mc_with_stdin(args: &[&str], stdin: &str) -> Output {
  use std::io::Write;
  let mut child = Command::new(env!("CARGO_BIN_EXE_v8mc"))
    .args(args)
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("v8mc starts");
  child
    .stdin
    .take()
    .unwrap()
    .write_all(stdin.as_bytes())
    .unwrap();
  child.wait_with_output().expect("v8mc runs")
}

#[test]
fn eval_runs_code_as_a_script_or_a_module() {
  let out = v8mc(&[
    "eval",
    "console.log(typeof MessageChannel, typeof import.meta)",
  ]);
  assert_eq!(
    out.status.code(),
    Some(1),
    "import.meta is a syntax error in a script"
  );
  let out = v8mc(&[
    "eval",
    "const { port1, port2 } = new MessageChannel(); port2.onmessage = (e) => { console.log(e.data); port1.close(); }; port1.postMessage(6 * 7);",
  ]);
  assert_eq!(text(&out.stdout), "42\n", "{}", text(&out.stderr));
  assert_eq!(out.status.code(), Some(0));
  // Imports resolve against the working directory (the crate root here).
  let out = v8mc(&[
    "eval",
    "--module",
    "const { default: d } = await import('./wpt/expectations.json', { with: { type: 'json' } }); console.log(typeof d, import.meta.url.endsWith('/[eval]'));",
  ]);
  assert_eq!(text(&out.stdout), "object true\n", "{}", text(&out.stderr));
  // The same options as `run`.
  let out = v8mc(&[
    "eval",
    "console.log(typeof MessageChannel)",
    "--compatibility-date",
    "2025-01-01",
  ]);
  assert_eq!(text(&out.stdout), "undefined\n");
  let out = v8mc(&["eval", "1", "--compatibility-flags", "nope"]);
  assert_eq!(out.status.code(), Some(2));
  assert!(text(&out.stderr).starts_with("error: unknown compatibility flag"));
  let out = v8mc(&["eval", "throw new TypeError('from eval')"]);
  assert_eq!(out.status.code(), Some(1));
  assert!(
    text(&out.stderr).contains("TypeError: from eval"),
    "{}",
    text(&out.stderr)
  );
  let out = v8mc(&["eval", "--module", "await import('./no/such/module.mjs')"]);
  assert_eq!(out.status.code(), Some(1));
  let stderr = text(&out.stderr);
  assert!(
    stderr.contains("TypeError: Cannot load module") && stderr.contains("./no/such/module.mjs"),
    "{stderr}"
  );
}

#[test]
fn run_dash_reads_the_script_from_standard_input() {
  let out = v8mc_with_stdin(
    &["run", "-"],
    "console.log('from stdin', typeof performance.now());\n",
  );
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  assert_eq!(text(&out.stdout), "from stdin number\n");
  let out = v8mc_with_stdin(
    &["run", "-", "--module"],
    "const { meta } = { meta: import.meta }; console.log(meta.url.endsWith('/[stdin]'), meta.main);\n",
  );
  assert_eq!(text(&out.stdout), "true true\n", "{}", text(&out.stderr));
  let out = v8mc_with_stdin(&["run", "-"], "null.x;\n");
  assert_eq!(out.status.code(), Some(1));
  assert!(
    text(&out.stderr).contains("TypeError"),
    "{}",
    text(&out.stderr)
  );
  let out = v8mc_with_stdin(&["run", "-", "--compatibility-date", "tomorrow"], "");
  assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_uncaught_import_failure_exits_1() {
  let dir = std::env::temp_dir().join(format!("v8mc-cli-imports-{}", std::process::id()));
  std::fs::create_dir_all(&dir).unwrap();
  std::fs::write(dir.join("bad.mjs"), "export default =;\n").unwrap();
  std::fs::write(dir.join("main.js"), "import('./bad.mjs');\n").unwrap();
  std::fs::write(dir.join("static.mjs"), "import './gone.mjs';\n").unwrap();
  let out = v8mc(&["run", dir.join("main.js").to_str().unwrap()]);
  assert_eq!(out.status.code(), Some(1));
  assert!(
    text(&out.stderr).starts_with("Uncaught (in promise) SyntaxError: Unexpected token '='"),
    "{}",
    text(&out.stderr)
  );
  let out = v8mc(&["run", dir.join("static.mjs").to_str().unwrap()]);
  assert_eq!(out.status.code(), Some(1));
  let stderr = text(&out.stderr);
  assert!(
    stderr.starts_with("error: Uncaught TypeError: Cannot load module")
      && stderr.contains("gone.mjs"),
    "{stderr}"
  );
  std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_the_round_trip_example() {
  let out = v8mc(&["run", "examples/round_trip.mjs"]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  let stdout = text(&out.stdout);
  let elapsed = stdout
    .strip_prefix("1000 round trips in ")
    .and_then(|rest| rest.strip_suffix(" ms\n"))
    .and_then(|ms| ms.parse::<f64>().ok());
  assert!(elapsed.is_some_and(|ms| ms > 0.0), "{stdout}");
}

#[test]
fn max_message_size_limits_posts_and_rejects_a_bad_value() {
  let path = script(
    "limit.js",
    "const { port1 } = new MessageChannel();\n\
     try { port1.postMessage('x'.repeat(2000)); console.log('sent'); }\n\
     catch (e) { console.log(e.name); }\n\
     port1.close();\n",
  );
  let p = path.to_str().unwrap();
  let out = v8mc(&["run", p, "--max-message-size", "1000"]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
  assert_eq!(text(&out.stdout), "DataCloneError\n");
  let out = v8mc(&["run", p]);
  assert_eq!(text(&out.stdout), "sent\n");
  let out = v8mc(&["run", p, "--max-message-size", "lots"]);
  let stderr = text(&out.stderr);
  assert_eq!(out.status.code(), Some(2), "{stderr}");
  assert!(
    stderr.starts_with("error: invalid value 'lots' for '--max-message-size"),
    "{stderr}"
  );
  assert_eq!(text(&out.stdout), "");
}
