// Build of the phone code (run by `npm run build`; not shipped to phones). Each output is
// built from the file of the same name at the top of static/js/ (its entry point):
//   static/build/fill.js   the server page /surveys/<id>/fill (one ESM file, as before)
//   static/build/app.js    the offline app (ESM, split: the engine loads only to fill in)
//   static/build/dashboard.js  a form's charts (/data/<id>/dashboard; online only, so
//                          never in the service worker's precache)
//   static/build/sw.js     the service worker (IIFE: Chrome 89/90 have no module workers),
//                          with the precache list and a hash of everything it precaches
//                          baked in, so any change to code, CSS, icons or the shell
//                          template makes a new service worker (and the update prompt).
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'static', 'build');
const common = { bundle: true, format: 'esm', target: 'chrome89', minify: true, legalComments: 'linked', logLevel: 'warning' };

// Start from an empty output folder: stale chunks must not end up in the precache list.
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

await esbuild.build({ ...common, entryPoints: [join(ROOT, 'static/js/fill.js')], outfile: join(OUT, 'fill.js') });
await esbuild.build({ ...common, entryPoints: [join(ROOT, 'static/js/dashboard.js')], outfile: join(OUT, 'dashboard.js') });

const app = await esbuild.build({
  ...common,
  entryPoints: { app: join(ROOT, 'static/js/app.js') },
  outdir: OUT,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
});

const url = (file) => `/${relative(ROOT, file).split('\\').join('/')}`;
const code = Object.keys(app.metafile.outputs).filter((f) => f.endsWith('.js')).map((f) => join(process.cwd(), f));
const assets = ['static/css/app.css', 'static/css/form.css', 'static/css/shell.css', 'static/css/reminders.css', 'static/js/pages/support.js', 'static/icons/icon-192.png', 'static/icons/icon-512.png']
  .map((f) => join(ROOT, f));
const files = [...code, ...assets].sort();
const hash = createHash('sha256');
for (const f of [...files, join(ROOT, 'templates/app/shell.html')]) {
  hash.update(relative(ROOT, f));
  hash.update(readFileSync(f));
}
const build = hash.digest('hex').slice(0, 12);
const precache = ['/app', '/manifest.webmanifest', ...files.map(url)];

await esbuild.build({
  ...common,
  format: 'iife',
  entryPoints: [join(ROOT, 'static/js/sw.js')],
  outfile: join(OUT, 'sw.js'),
  define: { __BUILD__: JSON.stringify(build), __PRECACHE__: JSON.stringify(precache) },
});

const size = (f) => statSync(f).size;
console.log(`build ${build}: app.js ${size(join(OUT, 'app.js'))} B, dashboard.js ${size(join(OUT, 'dashboard.js'))} B, ${code.length} code files, sw.js ${size(join(OUT, 'sw.js'))} B, precache ${precache.length} URLs`);
