// Service worker of the phone app (built to static/build/sw.js, served at /sw.js with
// scope /). Workbox recipes written out in plain code:
//   - precache (awaited, all or nothing) of the shell /app, the built code, CSS, icons and
//     the manifest, in a cache named by the build hash; old caches go on activate;
//   - /app navigations: the precached shell at once (it holds no user data and changes
//     only with a build, which brings a new service worker with its own copy), so a
//     phone with poor signal opens the app without waiting for the network; the network
//     only when nothing is cached;
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
// Reminders (issue 13): `push` shows the payload's title and body (counts only, as the
// server writes them; a payload missing or not JSON shows a generic line), a tap on a
// notification focuses the open app and takes it to the payload's URL (same origin only)
// or opens a window; periodic background sync 'todo-refresh' (registered by the page,
// app/push.js) refreshes 待办 and shows at most one local notification a day with the
// same privacy rule (counts and kinds, never a name), with no push service at all.
import * as store from './db.js';
import { timedFetch } from './net.js';
import { MEDIA_CACHE, syncAll } from './sync.js';
import { localDay } from './app/entities.js';
import { loadTodo } from './app/todostate.js';
import { todoSummary } from './app/todo.js';

/* global __BUILD__, __PRECACHE__ */
const BUILD = __BUILD__;
const PRECACHE = __PRECACHE__;
const PREFIX = 'fieldapp-';
const SHELL_CACHE = `${PREFIX}shell-${BUILD}`;
const RUNTIME_CACHE = `${PREFIX}runtime-${BUILD}`;
const KEEP = new Set([SHELL_CACHE, RUNTIME_CACHE, MEDIA_CACHE]);
const precached = new Set(PRECACHE);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await Promise.all(PRECACHE.map(async (url) => {
      // A file whose name carries its content's hash (the build's chunks and WebAssembly)
      // never changes under that name: the copy the page has just downloaded (in the HTTP
      // cache) is the right one, so a first visit does not download the engine twice. The
      // rest (/app, app.js, CSS) is fetched fresh.
      const hashed = url.startsWith('/static/build/chunks/') || url.startsWith('/static/build/wasm/');
      const res = await fetch(new Request(url, { cache: hashed ? 'default' : 'reload', credentials: 'same-origin' }));
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
  const cached = await cache.match('/app');
  if (cached) return cached;
  // Nothing cached (a cleared cache): the network, kept for next time.
  const res = await fetch(req);
  if (res.ok && !res.redirected) await cache.put('/app', res.clone());
  return res;
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

// ---- reminders (issue 13) ----------------------------------------------------------

const ICON = '/static/icons/icon-192.png';
const TODO_URL = '/app#/todo';
const GENERIC = '您有新的待办';

// The payload as the server sends it ({ kind, title, body, url, tag }), or null.
function payloadOf(data) {
  if (!data) return null;
  try {
    const p = data.json();
    return p && typeof p === 'object' ? p : null;
  } catch { return null; }
}

self.addEventListener('push', (event) => {
  event.waitUntil((async () => {
    const p = payloadOf(event.data);
    const user = await store.getCurrentUser().catch(() => null);
    const title = (p && typeof p.title === 'string' && p.title) || '平安家庭';
    // Nobody logged in on this phone (the subscription outlived a logout): nothing of anyone's.
    const body = !user ? '请登录后查看待办' : (p && typeof p.body === 'string' && p.body) || GENERIC;
    const tag = (p && typeof p.tag === 'string' && p.tag) || 'todo';
    const url = (p && typeof p.url === 'string' && p.url) || TODO_URL;
    await self.registration.showNotification(title, { body, tag, icon: ICON, badge: ICON, data: { url } });
    // Today's reminder came by push: the periodic refresh shows none more.
    if (user) await store.setMeta(`todoNotified:${user.username}`, localDay()).catch(() => {});
  })());
});

// A URL of this origin, else the 待办 page.
function sameOriginUrl(raw) {
  try {
    const u = new URL(raw || TODO_URL, self.location.origin);
    if (u.origin === self.location.origin) return u;
  } catch { /* not a URL */ }
  return new URL(TODO_URL, self.location.origin);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openFromNotification(event.notification.data && event.notification.data.url));
});

async function openFromNotification(raw) {
  const url = sameOriginUrl(raw);
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const isApp = (c) => { try { return new URL(c.url).pathname.replace(/\/$/, '') === '/app'; } catch { return false; } };
  const app = windows.find((c) => isApp(c) && c.focused) || windows.find(isApp);
  if (app && url.pathname.replace(/\/$/, '') === '/app') {
    // The app itself changes its screen (a hash change keeps the page and its state).
    try { await app.focus(); } catch { /* focus needs a real tap: the page still moves */ }
    app.postMessage({ type: 'navigate', url: url.href });
    return;
  }
  const other = app || windows[0];
  if (other && typeof other.navigate === 'function') {
    try {
      const moved = await other.navigate(url.href);
      if (moved) { await moved.focus().catch(() => {}); return; }
    } catch { /* not controlled by this worker: open a window instead */ }
  }
  await self.clients.openWindow(url.href);
}

// ---- periodic background sync: 待办 without a push service ----

self.addEventListener('periodicsync', (event) => {
  if (event.tag === 'todo-refresh') event.waitUntil(periodicTodo().catch((err) => console.warn('fieldapp: todo refresh', err)));
});

// 'HH:MM' of now is inside quiet hours [start, end) (across midnight when start > end).
function inQuietHours(prefs, now = new Date()) {
  const s = prefs && prefs.quiet_start;
  const e = prefs && prefs.quiet_end;
  if (!s || !e || s === e) return false;
  const p = (n) => String(n).padStart(2, '0');
  const t = `${p(now.getHours())}:${p(now.getMinutes())}`;
  return s < e ? t >= s && t < e : t >= s || t < e;
}

const DEFAULT_PREFS = { kinds: {}, quiet_start: '21:00', quiet_end: '08:00' }; // fieldapp/reminders/preferences.py
const KIND_OF = { overdue: 'visits', due_today: 'visits', due_tomorrow: 'visits', report: 'report', assigned: 'assigned' };

async function periodicTodo() {
  const user = await store.getCurrentUser();
  if (!user) return;
  const owner = user.username;
  const today = localDay();
  if ((await store.getMeta(`todoNotified:${owner}`)) === today) return; // at most once a day
  // Refresh what can be: the outbox and /me's reports (no forms), then the server's list.
  try { await syncAll({ forms: false }); } catch { /* offline: the phone's own list */ }
  let items = null;
  try {
    const res = await timedFetch('/api/v1/reminders/todo', { credentials: 'same-origin', redirect: 'manual', cache: 'no-store' }, 30_000);
    if (res.ok) {
      const body = await res.json();
      if (body && Array.isArray(body.items)) items = body.items;
    }
  } catch { /* offline */ }
  if (!items) items = (await loadTodo(owner, today)).items;
  // The person's kinds and quiet hours: the server's now, else the last known, else the
  // server's defaults.
  let prefs = null;
  try {
    const res = await timedFetch('/api/v1/reminders/preferences', { credentials: 'same-origin', redirect: 'manual', cache: 'no-store' }, 30_000);
    if (res.ok) {
      prefs = await res.json();
      await store.setMeta(`reminderPrefs:${owner}`, prefs);
    }
  } catch { /* offline */ }
  prefs = prefs || (await store.getMeta(`reminderPrefs:${owner}`)) || DEFAULT_PREFS;
  if (inQuietHours(prefs)) return; // the next refresh tries again
  const kinds = (prefs && prefs.kinds) || {};
  const wanted = items.filter((i) => kinds[KIND_OF[i.kind]] !== false);
  const summary = todoSummary(wanted);
  if (!summary) return;
  await self.registration.showNotification(summary.title, {
    body: summary.body, tag: `todo-${today}`, icon: ICON, badge: ICON, data: { url: TODO_URL },
  });
  await store.setMeta(`todoNotified:${owner}`, today);
}
