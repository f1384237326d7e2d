// Service worker of the phone app (built to static/build/sw.js, served at /sw.js with
// scope /). Workbox recipes written out in plain code:
//   - precache (awaited, all or nothing) of the shell /app, the built code, CSS, icons and
//     the manifest, in a cache named by the build hash; old caches go on activate;
//   - /app navigations: network first with a 3 s timeout, else the cached shell;
//   - precached files: cache first (code and chunks always of one build);
//   - other /static/ files: stale-while-revalidate;
//   - XForms and form media (/forms/…/versions/<v>/…): cache first, the version is in the URL;
//     except a request with cache: 'no-store' (sync.js's entity lists) and a response marked
//     private (an entity list is per person and changes within a version),
//     which go to the network and are never stored;
//   - never cached: any other page (they carry CSRF tokens), /api/*, /csrf-token, POSTs.
// A new version waits until the page asks (SKIP_WAITING). Background Sync 'outbox' runs
// the same sync code as the page (sync.js, which posts through net.js). IndexedDB is
// untouched by updates.
import { MEDIA_CACHE, syncAll } from './sync.js';

/* global __BUILD__, __PRECACHE__ */
const BUILD = __BUILD__;
const PRECACHE = __PRECACHE__;
const PREFIX = 'fieldapp-';
const SHELL_CACHE = `${PREFIX}shell-${BUILD}`;
const RUNTIME_CACHE = `${PREFIX}runtime-${BUILD}`;
const KEEP = new Set([SHELL_CACHE, RUNTIME_CACHE, MEDIA_CACHE]);
const NAV_TIMEOUT = 3000;
const precached = new Set(PRECACHE);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await Promise.all(PRECACHE.map(async (url) => {
      const res = await fetch(new Request(url, { cache: 'reload', credentials: 'same-origin' }));
      if (!res.ok) throw new Error(`precache ${url}: HTTP ${res.status}`);
      await cache.put(url, res);
    }));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && !KEEP.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'SKIP_WAITING') self.skipWaiting();
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'outbox') event.waitUntil(backgroundSync());
});

async function backgroundSync() {
  const r = await syncAll({ force: true, forms: false });
  for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ type: 'synced', state: r.state });
  // Throwing makes the browser retry the sync event later (with its own back-off).
  if (r.state === 'offline') throw new Error('still offline');
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (req.mode === 'navigate') {
    if (path === '/app' || path === '/app/') event.respondWith(shellNavigation(req));
    else event.respondWith(otherNavigation(req));
    return;
  }
  if (precached.has(path) && !url.search) { event.respondWith(cacheFirst(SHELL_CACHE, req, path)); return; }
  if (path.startsWith('/static/')) { event.respondWith(staleWhileRevalidate(req)); return; }
  if (/^\/forms\/[^/]+\/versions\/[^/]+\/(form\.xml|media\/)/.test(path)) { event.respondWith(cacheFirst(MEDIA_CACHE, req, req.url, true)); }
  // everything else (/api/*, /csrf-token, pages, ...) goes to the network untouched
});

async function shellNavigation(req) {
  const cache = await caches.open(SHELL_CACHE);
  const network = fetch(req).then(async (res) => {
    if (res.ok && !res.redirected) await cache.put('/app', res.clone());
    return res;
  });
  const timeout = new Promise((resolve) => { setTimeout(resolve, NAV_TIMEOUT, null); });
  try {
    const res = await Promise.race([network, timeout]);
    if (res) return res;
  } catch { /* offline: the cached shell */ }
  const cached = await cache.match('/app');
  if (cached) return cached;
  return network; // nothing cached yet: wait for the network after all
}

async function otherNavigation(req) {
  try {
    return await fetch(req);
  } catch {
    // Server pages are never served from a cache (their CSRF tokens expire): say where to go.
    const html = '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
      + '<meta name="viewport" content="width=device-width, initial-scale=1"><title>没有网络</title>'
      + '<body style="font:18px/1.6 system-ui,sans-serif;padding:24px"><h1 style="font-size:22px">当前没有网络</h1>'
      + '<p>此页面需要网络。离线时请使用离线填写：</p>'
      + '<p><a href="/app" style="display:inline-block;padding:12px 20px;background:#0b6e4f;color:#fff;border-radius:8px;text-decoration:none">打开离线填写</a></p></body></html>';
    return new Response(html, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } });
  }
}

async function cacheFirst(cacheName, req, key, store = false) {
  if (req.cache === 'no-store') return fetch(req);
  const cache = await caches.open(cacheName);
  const hit = await cache.match(key);
  if (hit && req.cache !== 'reload') return hit; // 'reload': sync refreshes a changed file
  const res = await fetch(req);
  // 'private': made for the person asking (an entity list); other media are the same for all.
  const personal = /\bprivate\b/.test(res.headers.get('Cache-Control') || '');
  if (store && res.ok && res.type === 'basic' && !personal) await cache.put(key, res.clone());
  return res;
}

async function staleWhileRevalidate(req) {
  const cache = await caches.open(RUNTIME_CACHE);
  const hit = await cache.match(req);
  const network = fetch(req).then(async (res) => {
    if (res.ok && res.type === 'basic') await cache.put(req, res.clone());
    return res;
  });
  if (hit) {
    network.catch(() => {});
    return hit;
  }
  return network;
}
