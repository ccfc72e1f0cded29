// Load-time stand-ins for globals this product does not provide but that the structured-clone
// battery constructs while it loads (`[func_Blob_basic()]` runs at load). Without them the file
// dies at load and none of its ~130 structuredClone/MessageChannel subtests run. They are inert:
// the Blob and File subtests still fail, and wpt/expectations.json lists them with that reason.
if (typeof globalThis.Blob === "undefined") {
  globalThis.Blob = class Blob {
    constructor(parts = [], options = {}) {
      void parts;
      void options;
    }
  };
  globalThis.File = class File extends globalThis.Blob {
    constructor(parts, name, options) {
      super(parts, options);
      void name;
    }
  };
}
