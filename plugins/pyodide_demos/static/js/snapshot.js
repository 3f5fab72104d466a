// The Python snapshot as the worker receives it: a sparse copy of the runtime's memory
// (plugins/pyodide_demos/snapshot.py, `pack`). A header (magic "PDSS", version, the
// memory's size, the number of runs), then each run's (offset, length), then the runs'
// bytes; all words little-endian u32. What is not in a run is zero.

const MAGIC = [0x50, 0x44, 0x53, 0x53];
const VERSION = 1;
const HEADER = 16;
const RUN = 8;
const MAX_MEMORY = 2 ** 31; // more than a wasm32 runtime starts with

// Lays the runs into a zeroed buffer of the memory's size as inflated chunks arrive (push),
// so the bytes are copied once. `sized` settles with that buffer, still filling, as soon as
// the header is in; finish() gives it whole. A chunk that breaks the format throws.
export class SnapshotExpander {
  constructor() {
    this.head = new Uint8Array(HEADER); // the header, then the header and run table
    this.headLength = 0; // bytes of `head` received
    this.memory = null;
    this.runs = null; // [[offset, length], ...]
    this.run = 0; // index of the run being filled
    this.filled = 0; // bytes of that run received
    this.error = null; // why the snapshot cannot be used, once known
    this.sized = new Promise((resolve, reject) => {
      this.resolveSized = resolve;
      this.rejectSized = reject;
    });
    this.sized.catch(() => {}); // a caller that never asks is told by finish() or push()
  }

  push(chunk) {
    try {
      let at = this.memory ? 0 : this.readHead(chunk);
      while (at < chunk.length) {
        if (this.run >= this.runs.length) {
          throw new Error(`${chunk.length - at} bytes after the last run`);
        }
        const [offset, length] = this.runs[this.run];
        const take = Math.min(length - this.filled, chunk.length - at);
        this.memory.set(chunk.subarray(at, at + take), offset + this.filled);
        at += take;
        this.filled += take;
        if (this.filled === length) {
          this.run += 1;
          this.filled = 0;
        }
      }
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  // Give the memory once every run has arrived.
  finish() {
    if (!this.memory) this.fail(new Error(`the snapshot ended after ${this.headLength} bytes`));
    else if (this.run < this.runs.length) {
      this.fail(new Error(`the snapshot ended in run ${this.run} of ${this.runs.length}`));
    }
    if (this.error) throw this.error;
    return this.memory;
  }

  // The snapshot will not come (its download failed): whoever waits for its size hears why.
  fail(err) {
    this.error ??= err;
    this.rejectSized(this.error);
  }

  // Take header bytes from `chunk`; give how many it used. Once the header and run table
  // are whole, check them and allocate the memory.
  readHead(chunk) {
    let used = 0;
    const need = () => this.head.length - this.headLength;
    while (!this.memory && used < chunk.length) {
      const take = Math.min(need(), chunk.length - used);
      this.head.set(chunk.subarray(used, used + take), this.headLength);
      this.headLength += take;
      used += take;
      if (need() === 0) this.parseHead();
    }
    return used;
  }

  parseHead() {
    const view = new DataView(this.head.buffer);
    const size = view.getUint32(8, true);
    const count = view.getUint32(12, true);
    if (this.head.length === HEADER) {
      if (MAGIC.some((byte, i) => this.head[i] !== byte) || view.getUint32(4, true) !== VERSION) {
        throw new Error("these bytes are not a Python snapshot of this site's format");
      }
      if (size > MAX_MEMORY || count > size) {
        throw new Error(`a snapshot of ${size} bytes in ${count} runs cannot be right`);
      }
      const whole = new Uint8Array(HEADER + count * RUN);
      whole.set(this.head);
      this.head = whole;
      if (count > 0) return; // the run table follows
    }
    const runs = [];
    let end = 0;
    for (let i = 0; i < count; i += 1) {
      const table = new DataView(this.head.buffer, HEADER + i * RUN, RUN);
      const offset = table.getUint32(0, true);
      const length = table.getUint32(4, true);
      if (offset < end || length === 0 || offset + length > size) {
        throw new Error(`run ${i} (${offset}+${length}) does not fit a ${size}-byte snapshot`);
      }
      runs.push([offset, length]);
      end = offset + length;
    }
    this.runs = runs;
    this.memory = new Uint8Array(size);
    this.resolveSized(this.memory);
  }
}
