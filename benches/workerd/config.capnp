# Runs one benchmark scenario in workerd: `workerd test config.capnp` (compare.py writes
# worker.js next to a copy of this file, wrapping the scenario in a test() handler).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .mainWorker)],
);

const mainWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
);
