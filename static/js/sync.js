// Talking to the server, shared by the page and the service worker (no DOM here):
// who is logged in (/api/v1/me) and the reports their unit files, the forms of their
// area (XForm text into IndexedDB, media into Cache Storage), the person's entity lists
// (households.csv: into IndexedDB per person, never Cache Storage, whose copies every
// user of the phone would read), and the outbox (OpenRosa POST /submission).
//
// Safety rules: an item leaves the outbox (status 'sent') only on 201, a duplicate
// included; a content refusal (4xx) keeps it as 'attention' with the server's message;
// 409 is a 'conflict', shown and never dropped; 5xx and network errors retry later with
// exponential back-off; 401 stops everything and asks for a login. Only the outbox of the
// person the session belongs to is sent, so nobody's questionnaire goes out under
// another person's name.
import * as store from './db.js';
import { fetchCsrfToken, needsLogin, postSubmission, timedFetch } from './net.js';
import { adoptServerRows, parseCSV } from './app/entities.js';

export const MEDIA_CACHE = 'fieldapp-media-v1';
const API = '/api/v1';
const SUBMIT_URL = '/submission';
const BATCH_BYTES = 8 * 1024 * 1024; // files per POST; the rest follow with the same XML
const BACKOFF_MIN = 15e3;
const BACKOFF_MAX = 10 * 60e3;

export function backoff(attempts) {
  const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function isOnline() { return typeof navigator === 'undefined' || navigator.onLine !== false; }

// GET /api/v1/me -> { ok, me } | { login: true } | { password: { message, url } }
//   | { deactivated: { message } } | { offline: true }
// `password`: the person logged in with a one-time password and must choose their own
// first (the server answers 403 to everything else, the outbox included, until then).
export async function fetchMe() {
  let res;
  try {
    res = await timedFetch(`${API}/me`, { credentials: 'same-origin', redirect: 'manual', cache: 'no-store' });
  } catch {
    return { offline: true };
  }
  if (needsLogin(res)) return { login: true };
  if (res.status === 403) {
    const err = await res.json().then((body) => body && body.error, () => null);
    if (err && err.code === 'password_change_required') {
      return { password: { message: err.message, url: err.change_password_url } };
    }
    if (err && err.code === 'account_deactivated') return { deactivated: { message: err.message } };
  }
  if (!res.ok) return { offline: true, status: res.status };
  try {
    return { ok: true, me: await res.json() };
  } catch {
    return { offline: true };
  }
}

export function userOf(me) {
  return {
    username: me.username, display_name: me.display_name, role: me.role, area: me.area,
    corrections: me.corrections || null, // who corrects sent records, for how long (correct.js)
  };
}

// Bring the owner's forms up to date with /me: download XForms whose hash changed and
// media not yet cached, and the entity lists the forms name. Old versions stay while a
// draft needs them.
export async function refreshForms(owner, me) {
  const keys = [];
  const lists = new Map(); // dataset -> url of one form's copy (all copies are the same list)
  for (const f of me.forms || []) {
    keys.push([f.form_id, f.version]);
    const entities = f.entities || null;
    const have = await store.getForm(owner, f.form_id, f.version);
    if (!have || have.hash !== f.hash) {
      const res = await timedFetch(f.xform_url, { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error(`XForm ${f.form_id}: HTTP ${res.status}`);
      const xml = await res.text();
      await store.putForm({
        owner, form_id: f.form_id, version: f.version, title: f.title, hash: f.hash,
        xform_url: f.xform_url, media: f.media || [], entities, xml, current: true,
      });
    } else if (have.title !== f.title || JSON.stringify(have.media) !== JSON.stringify(f.media || [])
      || JSON.stringify(have.entities ?? null) !== JSON.stringify(entities)) {
      await store.putForm({ ...have, title: f.title, media: f.media || [], entities });
    }
    for (const m of f.media || []) if (m.entity_list && !lists.has(m.entity_list)) lists.set(m.entity_list, m.url);
    await cacheMedia((f.media || []).filter((m) => !m.entity_list));
    await forgetCachedLists((f.media || []).filter((m) => m.entity_list));
  }
  await store.setCurrentForms(owner, keys);
  await refreshEntityLists(owner, [...lists].map(([dataset, url]) => ({ dataset, url })));
}

// Download the owner's entity lists that changed (If-None-Match: the hash we hold; 304
// costs nothing) and keep each in IndexedDB with its rows' offline branches. A failed
// download keeps the old list. `sources`: [{ dataset, url }].
export async function refreshEntityLists(owner, sources) {
  for (const { dataset, url } of sources) {
    const old = await store.getEntityList(owner, dataset);
    const asked = Date.now(); // the list answered reflects everything sent before this
    let res;
    try {
      res = await timedFetch(url, {
        credentials: 'same-origin',
        cache: 'no-store', // past the HTTP cache and the service worker's (sw.js)
        headers: old && old.hash ? { 'If-None-Match': `"${old.hash}"` } : {},
      });
    } catch { continue; }
    if (res.status === 304 && old) {
      await store.putEntityList({ ...old, url, fetchedAt: asked });
    } else if (res.ok) {
      const { columns, rows } = parseCSV(await res.text());
      const hash = (res.headers.get('ETag') || '').replace(/^W\//, '').replace(/"/g, '');
      await store.putEntityList({
        owner, dataset, url, hash, columns, fetchedAt: asked,
        rows: adoptServerRows(rows, old ? old.rows : []),
      });
    }
  }
}

// Entity lists are per person: drop copies an earlier app version kept in Cache Storage.
async function forgetCachedLists(media) {
  if (!media.length || typeof caches === 'undefined') return;
  const cache = await caches.open(MEDIA_CACHE);
  for (const m of media) await cache.delete(m.url);
}

async function cacheMedia(media) {
  if (!media.length || typeof caches === 'undefined') return;
  const cache = await caches.open(MEDIA_CACHE);
  for (const m of media) {
    // The version is in the URL, but a missing file can be added to (or replaced in) a
    // published version: the server's ETag is the file's MD5, as /me's hash is.
    const have = await cache.match(m.url);
    if (have && (!m.hash || have.headers.get('ETag') === `"${m.hash.replace(/^md5:/, '')}"`)) continue;
    try {
      const res = await timedFetch(m.url, { credentials: 'same-origin', cache: 'reload' });
      if (res.ok) await cache.put(m.url, res);
    } catch { /* next sync tries again; the form opens with the file left blank */ }
  }
}

// The media folder of one form version, from its XForm URL (…/form.xml -> …/media/).
export function mediaBase(xformUrl) { return xformUrl.replace(/form\.xml(\?.*)?$/, 'media/'); }

// One full round: who am I, forms, outbox. Returns
// { state: 'ok'|'offline'|'login'|'password'|'deactivated'|'busy', user, sent, attention }.
// `force`: send waiting items now, ignoring their back-off time.
export async function syncAll({ force = false, forms = true } = {}) {
  if (!isOnline()) return { state: 'offline' };
  const result = await store.withLock('fieldapp-sync', () => syncLocked({ force, forms }), { ifAvailable: true });
  return result || { state: 'busy' };
}

async function syncLocked({ force, forms }) {
  const asked = Date.now(); // /me's reports show what was sent before this
  const who = await fetchMe();
  const current = await store.getCurrentUser();
  if (who.login) {
    if (current) await store.setMeta(`loginNeeded:${current.username}`, Date.now());
    store.notify('login');
    return { state: 'login' };
  }
  if (who.password) return { state: 'password', ...who.password }; // nothing is sent before
  if (who.deactivated) return { state: 'deactivated', ...who.deactivated }; // kept on the phone
  if (!who.ok) return { state: 'offline' };
  const owner = who.me.username;
  await store.setMeta(`loginNeeded:${owner}`, null);
  // The reports the unit files, with its status per period (home card, zero report).
  if (Array.isArray(who.me.reports)) await store.setReports(owner, who.me.reports, asked);
  if (forms) {
    try { await refreshForms(owner, who.me); } catch (err) { console.warn('fieldapp: forms not refreshed', err); }
  }
  const out = await sendOutbox(owner, { force });
  if (out.sent) {
    // What was just sent changed the person's lists on the server: show the server's.
    try {
      await refreshEntityLists(owner, (await store.listEntityLists(owner)).map((l) => ({ dataset: l.dataset, url: l.url })));
    } catch (err) { console.warn('fieldapp: entity lists not refreshed', err); }
  }
  if (out.state === 'ok') {
    await store.setMeta(`lastSync:${owner}`, Date.now());
    await store.pruneSent(owner);
  }
  store.notify('sync');
  return { ...out, me: who.me };
}

// Send the owner's due outbox items, oldest first.
async function sendOutbox(owner, { force }) {
  const items = (await store.listOutbox(owner))
    .filter((i) => i.status === 'waiting' || i.status === 'sending') // 'sending' = a cut earlier run
    .filter((i) => force || !i.nextAttemptAt || i.nextAttemptAt <= Date.now());
  const ctx = { token: null };
  let sent = 0;
  let attention = 0;
  for (const item of items) {
    await store.updateOutbox(item.id, { status: 'sending' });
    const r = await sendOne(item, ctx);
    if (r.done) {
      sent += 1;
      await store.updateOutbox(item.id, { status: 'sent', sentAt: Date.now(), files: {}, lastError: '', filesSent: r.filesSent });
    } else if (r.status === 'attention' || r.status === 'conflict') {
      attention += 1;
      await store.updateOutbox(item.id, { status: r.status, lastError: r.message, filesSent: r.filesSent });
    } else {
      // network, 5xx, login: back to waiting, later. Stop the round: the rest would fail too.
      const attempts = (item.attempts || 0) + 1;
      await store.updateOutbox(item.id, {
        status: 'waiting', attempts, lastError: r.message || '', filesSent: r.filesSent,
        nextAttemptAt: r.login ? 0 : Date.now() + backoff(attempts),
      });
      if (r.login) {
        await store.setMeta(`loginNeeded:${owner}`, Date.now());
        store.notify('login');
        return { state: 'login', sent, attention };
      }
      return { state: 'offline', sent, attention };
    }
  }
  return { state: 'ok', sent, attention };
}

// POST the XML with the files not yet confirmed, in batches of ~8 MB: a cut connection
// resumes with the same XML and the remaining files, which the server merges.
async function sendOne(item, ctx) {
  const filesSent = [...(item.filesSent || [])];
  const files = Object.entries(item.files || {}).filter(([name]) => !filesSent.includes(name));
  const batches = [];
  let batch = [];
  let size = 0;
  for (const [name, blob] of files) {
    if (batch.length && size + blob.size > BATCH_BYTES) { batches.push(batch); batch = []; size = 0; }
    batch.push([name, blob]);
    size += blob.size;
  }
  batches.push(batch); // at least one POST, with or without files
  for (const b of batches) {
    const r = await post(item.xml, b, ctx);
    if (!r.ok) return { ...r, filesSent };
    filesSent.push(...b.map(([name]) => name));
    await store.updateOutbox(item.id, { filesSent });
  }
  return { done: true, filesSent };
}

// One POST of the XML and some files; what the outbox makes of the answer.
async function post(xml, files, ctx) {
  // One CSRF token for the whole round, fetched again only when the server calls it stale.
  const r = await postSubmission(SUBMIT_URL, xml, files, async (stale) => {
    if (!ctx.token || stale) ctx.token = await fetchCsrfToken();
    return ctx.token;
  });
  if (r.ok) return r;
  if (r.network) return { ok: false, message: '网络不通' };
  if (r.login) return { ok: false, login: true, message: '登录已过期' };
  const { status, message: text } = r;
  if (status === 409) return { ok: false, status: 'conflict', message: text || '服务器上已有同一编号、内容不同的问卷' };
  if (status === 413) return { ok: false, status: 'attention', message: text || '问卷太大（照片过多或过大），服务器拒收' };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { ok: false, status: 'attention', message: text || `服务器拒收（HTTP ${status}）` };
  }
  return { ok: false, message: text || `服务器暂时出错（HTTP ${status}）` };
}
