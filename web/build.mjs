// Builds the desk into dist/: index.html, app.js (one ES module), app.css and automerge.wasm; and
// the API reference (served at /api/reference): reference.html, reference.js, reference.css and
// Swagger UI's prebuilt bundle (swagger-ui-bundle.js, swagger-ui.css, and the licences of what it
// bundles in swagger-ui-bundle.js.LICENSE.txt), copied from swagger-ui-dist without their
// source-map comments (the maps are not shipped). The output is committed so the server ships it without Node; the test suite rebuilds it into a
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
  entryPoints: { app: join(here, "src/main.js"), reference: join(here, "src/reference.js") },
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
for (const name of ["index.html", "reference.html", "reference.css"]) {
  await writeFile(join(outdir, name), await readFile(join(here, "src", name)));
}

// Swagger UI, verbatim but for the trailing source-map comment, which would only ask for a file
// that is not there.
const swagger = dirname(require.resolve("swagger-ui-dist/package.json"));
const unmapped = text => text.replace(/\n?(\/\/# sourceMappingURL=\S+|\/\*# sourceMappingURL=\S+ ?\*\/)\s*$/, "\n");
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  await writeFile(join(outdir, name), unmapped(await readFile(join(swagger, name), "utf8")));
}
// The bundle's own notice points at this file: its third-party notices, then Swagger UI's
// NOTICE and licence (Apache-2.0).
const notices = await Promise.all(
  ["swagger-ui-bundle.js.LICENSE.txt", "NOTICE", "LICENSE"].map(name => readFile(join(swagger, name), "utf8")),
);
await writeFile(join(outdir, "swagger-ui-bundle.js.LICENSE.txt"), notices.join("\n\n"));
console.log(`built the desk into ${outdir}`);
