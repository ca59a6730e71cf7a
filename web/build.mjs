// Builds the desk into dist/: index.html, app.js (one ES module), app.css and automerge.wasm.
// The output is committed so the server ships it without Node; the test suite rebuilds it into a
// temporary directory and checks that it matches, byte for byte.
//
//   node build.mjs [--outdir DIR]
import { build } from "esbuild";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = resolve(at >= 0 ? args[at + 1] : join(here, "dist"));

await mkdir(outdir, { recursive: true });
await build({
  entryPoints: { app: join(here, "src/main.js") },
  outdir,
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  legalComments: "none",
  sourcemap: false,
  logLevel: "warning",
  absWorkingDir: here,
});

const require = createRequire(import.meta.url);
const wasm = require.resolve("@automerge/automerge/automerge.wasm");
await copyFile(wasm, join(outdir, "automerge.wasm"));
const css = await readFile(join(here, "src/app.css"));
await writeFile(join(outdir, "app.css"), css);
const html = await readFile(join(here, "src/index.html"));
await writeFile(join(outdir, "index.html"), html);
console.log(`built the desk into ${outdir}`);
