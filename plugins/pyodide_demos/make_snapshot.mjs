// Make a memory snapshot of the pinned Pyodide with the demos imported, for the browser
// worker to boot from (see plugins/pyodide_demos/snapshot.py, which runs this with Node).
//
//   node make_snapshot.mjs <runtime dir> <wheel file> <wheel path in Pyodide> <output file>
//
// The worker repeats the same steps after restoring the snapshot (write the wheel to the
// same path, import the runner); they find the modules already imported and cost nothing.
// Each demo also runs once with its defaults, so the modules a run imports on its way (the
// figure code, and the few stdlib modules it needs) are in the snapshot too: a restored
// Python then runs the demos without the stdlib's zip, which the worker fetches later.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [runtimeDir, wheelFile, wheelPath, outputFile] = process.argv.slice(2);
if (!outputFile) {
  console.error("usage: make_snapshot.mjs RUNTIME_DIR WHEEL WHEEL_PATH OUTPUT");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(join(resolve(runtimeDir), "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: resolve(runtimeDir) + "/",
  _makeSnapshot: true,
  // Whatever the demos print while importing stays out of the build's output.
  stdout: () => {},
});
pyodide.FS.writeFile(wheelPath, readFileSync(wheelFile));
const namespace = pyodide.globals.get("dict")();
namespace.set("wheel_path", wheelPath);
pyodide.runPython(`
import sys
sys.path.insert(0, wheel_path)
import pyodide_demos_runner
names = pyodide_demos_runner.warm_up()
for name in names:
    pyodide_demos_runner.run_json(name, "{}")
import gc
gc.collect()
`, { globals: namespace });
const names = namespace.get("names").toJs();
namespace.destroy();
zeroFreeMemory(pyodide._module);
writeFileSync(outputFile, pyodide.makeMemorySnapshot());
console.log(JSON.stringify({ demos: names }));

// Overwrite the C heap's free space with zeros. The warm-up runs allocated and freed a few
// MB whose leftover bytes would otherwise ship in the snapshot; zeros compress to nearly
// nothing (about 0.8 MB less gzip'd). Every free block is taken from malloc, zeroed, and
// given back. With the footprint capped where it is, malloc answers 0 once the free space
// is used up rather than growing the heap, so the snapshot stays the same size.
function zeroFreeMemory(module) {
  const { _malloc_footprint: footprint, _malloc_set_footprint_limit: setLimit,
    _emscripten_builtin_malloc: malloc, _emscripten_builtin_free: free } = module;
  if (![footprint, setLimit, malloc, free].every((fn) => typeof fn === "function")) return;
  const taken = [];
  setLimit(footprint());
  try {
    // Largest first, so that big free runs go in few blocks; the smallest mop up the rest.
    for (const size of [1 << 18, 1 << 16, 1 << 12, 1 << 9, 64, 16]) {
      for (let block = malloc(size); block; block = malloc(size)) {
        module.HEAPU8.fill(0, block, block + size);
        taken.push(block);
      }
    }
  } finally {
    for (const block of taken) free(block);
    setLimit(-1);
  }
}
