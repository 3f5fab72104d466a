// The reader's code in a link: code=<base64url of the source, deflated (deflate-raw)>.
// Decoding is strict: anything but base64url, a stream that does not inflate, text that is
// not UTF-8 or inflates past MAX_SOURCE_BYTES is refused with a message; the text is only
// ever put into the editor as text.

export const MAX_LINK_CHARS = 200000; // code= longer than this is refused before decoding
export const MAX_SOURCE_BYTES = 512 * 1024; // a demo's module is ~30 KB; room for edits

export class LinkCodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "LinkCodeError";
  }
}

// Give the code= value for `text`.
export async function encodeCode(text) {
  const stream = new Blob([new TextEncoder().encode(text)]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Give the source a code= value holds; throw LinkCodeError saying what is wrong with it.
export async function decodeCode(value) {
  if (typeof value !== "string" || !value.length) {
    throw new LinkCodeError("the link's code= is empty");
  }
  if (value.length > MAX_LINK_CHARS) {
    throw new LinkCodeError(`the link's code= is ${value.length} characters, over the limit`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(value) || value.length % 4 === 1) {
    throw new LinkCodeError("the link's code= is not base64url text");
  }
  let binary;
  try {
    binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw new LinkCodeError("the link's code= is not base64url text");
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const reader = new Blob([bytes]).stream()
    .pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const parts = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      size += chunk.length;
      if (size > MAX_SOURCE_BYTES) {
        reader.cancel().catch(() => {});
        throw new LinkCodeError(`the link's code inflates past ${MAX_SOURCE_BYTES} bytes`);
      }
      parts.push(chunk);
    }
  } catch (err) {
    if (err instanceof LinkCodeError) throw err;
    throw new LinkCodeError("the link's code= does not inflate (it is damaged or cut short)");
  }
  const joined = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(joined);
  } catch {
    throw new LinkCodeError("the link's code is not UTF-8 text");
  }
}
