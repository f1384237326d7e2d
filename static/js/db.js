// The only module that touches IndexedDB (through the small `idb` wrapper).
//
// Everything a worker types lives here until the server confirms it: drafts, the
// outbox, and the forms (XForm text) needed to fill in offline. Every record carries
// its owner (username): another person logging in on the same phone never sees the
// first one's drafts or outbox. Rules: small async functions, one transaction each,
// never a network call inside a transaction (IndexedDB commits a transaction as soon
// as it has no pending request, so an `await fetch` inside it would break it).
// Used by the page and by the service worker (no DOM here).
import { openDB } from 'idb';
import { itemDay } from './app/reports.js';

export const DB_NAME = 'fieldapp';
export const DB_VERSION = 2;

// Step-by-step upgrades: a phone may jump from any old version to the newest, so each
// step runs in order and never rewrites what an earlier step made. Add `if (oldVersion < 3)`
// below for the next change; never edit a released step.
function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    // key [owner, form_id, version]: { title, xml, hash, media:[{filename,hash,url}], current, fetchedAt }
    const forms = db.createObjectStore('forms', { keyPath: ['owner', 'form_id', 'version'] });
    forms.createIndex('owner', 'owner');
    // key id = meta/instanceID: { owner, form_id, version, title, summary, xml, files:{name:Blob}, progress, created, updated }
    const drafts = db.createObjectStore('drafts', { keyPath: 'id' });
    drafts.createIndex('owner', 'owner');
    // key id = meta/instanceID: { owner, form_id, version, title, summary, xml, files, status, attempts,
    //   nextAttemptAt, lastError, filesSent:[names], created, sentAt }
    const outbox = db.createObjectStore('outbox', { keyPath: 'id' });
    outbox.createIndex('owner', 'owner');
    // out-of-line keys: 'currentUser', 'lastSync:<owner>', 'loginNeeded:<owner>', 'persist',
    // 'snapshot:<owner>:<form_id>' (a form's blank first screen, app/snapshot.js), ...
    db.createObjectStore('meta');
  }
  if (oldVersion < 2) {
    // key [owner, dataset]: the server's entity list (households.csv) as last downloaded, each
    // row with its offline branch (app/entities.js): { columns, rows, hash, url, fetchedAt }.
    // fetchedAt: when the server last confirmed it (before that request), for telling which
    // sent questionnaires it shows already. A new store: the other stores are untouched.
    // From v2 on, records gain fields without a step: forms { entities: /me's declaration
    // or null, media[].entity_list }, outbox { entities: the form's, kept at finalize }.
    db.createObjectStore('entityLists', { keyPath: ['owner', 'dataset'] });
  }
}

let dbPromise = null;
export function db() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade,
      // Another tab holds an old version open and this one wants to upgrade (after an app
      // update): the old tab lets go and reloads onto the new code.
      blocking() {
        dbPromise.then((d) => d.close());
        dbPromise = null;
        if (typeof location !== 'undefined' && typeof document !== 'undefined') location.reload();
      },
    });
  }
  return dbPromise;
}

// Tell the other tabs (and the page, when the service worker wrote) that data changed.
let channel = null;
export function notify(what = 'data') {
  try {
    if (!channel && typeof BroadcastChannel !== 'undefined') channel = new BroadcastChannel('fieldapp');
    if (channel) channel.postMessage({ type: 'changed', what });
  } catch { /* not fatal: the periodic refresh catches up */ }
  if (typeof dispatchEvent === 'function' && typeof CustomEvent === 'function') {
    dispatchEvent(new CustomEvent('fieldapp-changed', { detail: what }));
  }
}
export function onChange(callback) {
  if (typeof BroadcastChannel !== 'undefined') {
    const ch = new BroadcastChannel('fieldapp');
    ch.onmessage = (e) => { if (e.data && e.data.type === 'changed') callback(e.data.what); };
  }
  addEventListener('fieldapp-changed', (e) => callback(e.detail));
}

// ---- meta ------------------------------------------------------------------------

export async function getMeta(key) { return (await db()).get('meta', key); }
export async function setMeta(key, value) {
  const d = await db();
  if (value === undefined || value === null) await d.delete('meta', key);
  else await d.put('meta', value, key);
}

// { username, display_name, role, area } of the last person the server confirmed, or null.
export async function getCurrentUser() { return (await getMeta('currentUser')) || null; }
export async function setCurrentUser(user) {
  await setMeta('currentUser', user ? { ...user } : null);
  notify('user');
}

// ---- forms -----------------------------------------------------------------------

export async function getForm(owner, formId, version) {
  return (await db()).get('forms', [owner, formId, version]);
}

export async function putForm(record) {
  await (await db()).put('forms', { ...record, fetchedAt: Date.now() });
}

// The current version of one of the owner's forms (undefined if none): only that form's
// versions are read, not every form's XForm text (a phone may hold twenty big forms).
export async function currentForm(owner, formId) {
  const versions = IDBKeyRange.bound([owner, formId], [owner, formId, []]); // arrays sort last
  return (await (await db()).getAll('forms', versions)).find((f) => f.current);
}

// The forms the owner may fill in now (the server's current versions), by title.
export async function listForms(owner) {
  const all = await (await db()).getAllFromIndex('forms', 'owner', owner);
  return all.filter((f) => f.current).sort((a, b) => a.title.localeCompare(b.title, 'zh'));
}

// After a sync: mark which [form_id, version] are current; drop old versions that no
// draft needs any more (a draft always finishes on its own version).
export async function setCurrentForms(owner, currentKeys) {
  const d = await db();
  const tx = d.transaction(['forms', 'drafts'], 'readwrite');
  const wanted = new Set(currentKeys.map(([id, v]) => `${id}\u0000${v}`));
  const drafts = await tx.objectStore('drafts').index('owner').getAll(owner);
  const needed = new Set(drafts.map((x) => `${x.form_id}\u0000${x.version}`));
  const forms = tx.objectStore('forms');
  for (const f of await forms.index('owner').getAll(owner)) {
    const k = `${f.form_id}\u0000${f.version}`;
    const current = wanted.has(k);
    if (!current && !needed.has(k)) await forms.delete([owner, f.form_id, f.version]);
    else if (f.current !== current) await forms.put({ ...f, current });
  }
  await tx.done;
  notify('forms');
}

// ---- entity lists ----------------------------------------------------------------

export async function getEntityList(owner, dataset) {
  return (await db()).get('entityLists', [owner, dataset]);
}

export async function putEntityList(record) {
  await (await db()).put('entityLists', record);
  notify('entities');
}

export async function listEntityLists(owner) {
  const all = await (await db()).getAll('entityLists');
  return all.filter((l) => l.owner === owner);
}

// ---- drafts ----------------------------------------------------------------------

export async function getDraft(owner, id) {
  const d = await (await db()).get('drafts', id);
  return d && d.owner === owner ? d : null;
}

export async function listDrafts(owner) {
  const all = await (await db()).getAllFromIndex('drafts', 'owner', owner);
  return all.sort((a, b) => b.updated - a.updated);
}

// Save (create or replace) a draft. Returns 'saved', or 'finalized' when this instance
// is already in the outbox (another tab finished it), or 'gone' when `mustExist` and the
// draft was deleted elsewhere: the caller then stops saving, so nothing comes back to life.
export async function saveDraft(draft, { mustExist = false } = {}) {
  const d = await db();
  const tx = d.transaction(['drafts', 'outbox'], 'readwrite');
  const [old, sent] = await Promise.all([tx.objectStore('drafts').get(draft.id), tx.objectStore('outbox').get(draft.id)]);
  let result = 'saved';
  if (sent) result = 'finalized';
  else if (old && old.owner !== draft.owner) result = 'gone';
  else if (!old && mustExist) result = 'gone';
  else {
    const now = Date.now();
    await tx.objectStore('drafts').put({ ...draft, created: old ? old.created : now, updated: now });
  }
  await tx.done;
  // 'draft': an existing draft's answers (no count changes: the status bar is not recounted).
  if (result === 'saved') notify(old ? 'draft' : 'drafts');
  return result;
}

export async function deleteDraft(owner, id) {
  const d = await db();
  const tx = d.transaction('drafts', 'readwrite');
  const old = await tx.store.get(id);
  if (old && old.owner === owner) await tx.store.delete(id);
  await tx.done;
  notify('drafts');
}

// Move a draft to the outbox in ONE transaction. Throws FinalizeError when the draft is
// no longer there or already in the outbox (another tab finalized it): that is what makes
// one draft open in two tabs produce one submission. `entities`: the form's entity
// declaration, kept with the item so the phone's lists show it even after the form
// version is gone from the phone.
export class FinalizeError extends Error {}
export async function finalize(owner, draftId, xml, files = {}, { entities = null } = {}) {
  const run = async () => {
    const d = await db();
    const tx = d.transaction(['drafts', 'outbox'], 'readwrite');
    const drafts = tx.objectStore('drafts');
    const outbox = tx.objectStore('outbox');
    const [draft, existing] = await Promise.all([drafts.get(draftId), outbox.get(draftId)]);
    if (!draft || draft.owner !== owner || existing) {
      tx.abort();
      await tx.done.catch(() => {});
      throw new FinalizeError(existing ? 'already-finalized' : 'draft-gone');
    }
    await outbox.add(outboxRecord(owner, { ...draft, id: draftId }, xml, files, entities));
    await drafts.delete(draftId);
    await tx.done;
  };
  await withLock(`fieldapp-finalize-${draftId}`, run);
  notify('outbox');
}

// An outbox item as it waits to be sent: `src` gives id (meta/instanceID), form_id,
// version, title and summary.
function outboxRecord(owner, src, xml, files, entities) {
  return {
    id: src.id, owner, form_id: src.form_id, version: src.version, title: src.title, summary: src.summary || '',
    xml, files, status: 'waiting', attempts: 0, nextAttemptAt: 0, lastError: '',
    filesSent: [], created: Date.now(), sentAt: null, entities,
    // The instance ID a correction replaces (meta/deprecatedID; the XML goes once sent).
    deprecatedID: src.deprecatedID || null,
  };
}

// Put a questionnaire made without the fill view (a zero report: one tap) straight into
// the outbox, as finalize() puts a draft there. `item`: { id, form_id, version, title,
// summary, xml, files?, entities? }. `refuse(items)` is asked, inside the same
// transaction, with the owner's outbox: true adds nothing (the period has its report
// already, maybe from another tab). Returns true when the item was added.
export async function addToOutbox(owner, item, { refuse = null } = {}) {
  const d = await db();
  const tx = d.transaction(['drafts', 'outbox'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const [mine, existing, draft] = await Promise.all([
    outbox.index('owner').getAll(owner), outbox.get(item.id), tx.objectStore('drafts').get(item.id),
  ]);
  if (existing || draft || (refuse && refuse(mine))) {
    tx.abort();
    await tx.done.catch(() => {});
    return false;
  }
  await outbox.add(outboxRecord(owner, item, item.xml, item.files || {}, item.entities || null));
  await tx.done;
  notify('outbox');
  return true;
}

// ---- reports ---------------------------------------------------------------------

// The periodic reports the owner's unit files, as /api/v1/me last gave them: a 'meta'
// key 'reports:<owner>' (no store of their own, so no version step), { reports: [...],
// fetchedAt (ms: when that /me was asked) }, or null before the first download.
export async function getReports(owner) { return (await getMeta(`reports:${owner}`)) || null; }
export async function setReports(owner, reports, fetchedAt) {
  const old = await getReports(owner);
  await setMeta(`reports:${owner}`, { reports, fetchedAt });
  if (!old || JSON.stringify(old.reports) !== JSON.stringify(reports)) notify('reports');
}

// ---- outbox ----------------------------------------------------------------------

export async function listOutbox(owner) {
  const all = await (await db()).getAllFromIndex('outbox', 'owner', owner);
  return all.sort((a, b) => a.created - b.created); // oldest first: the sending order
}

export async function getOutbox(id) { return (await db()).get('outbox', id); }

// Merge `patch` into an outbox record (read and write in one transaction).
export async function updateOutbox(id, patch) {
  const d = await db();
  const tx = d.transaction('outbox', 'readwrite');
  const old = await tx.store.get(id);
  if (old) await tx.store.put({ ...old, ...patch });
  await tx.done;
  notify('outbox');
  return old ? { ...old, ...patch } : null;
}

// The worker asks to send again now (after fixing the network or a refusal that the
// server side has since resolved): the item waits again with no delay.
export async function retryOutbox(owner, id) {
  const item = await getOutbox(id);
  if (!item || item.owner !== owner || item.status === 'sent') return;
  await updateOutbox(id, { status: 'waiting', nextAttemptAt: 0 });
}

// What stays of a sent questionnaire on the phone: a receipt (which form, when sent,
// the day it counts for in a report, what it corrected), never its answers or photos.
// The server holds the record; a correction fetches it from there (app/correct.js).
export function receipt(item, { keepSummary = true } = {}) {
  return {
    id: item.id, owner: item.owner, form_id: item.form_id, version: item.version, title: item.title,
    summary: keepSummary ? item.summary || '' : '', status: item.status, created: item.created,
    sentAt: item.sentAt, filesSent: item.filesSent || [], lastError: '',
    day: itemDay(item), deprecatedID: item.deprecatedID || null,
    xml: '', files: {}, entities: null, receipt: true,
  };
}

// Sent items become receipts as soon as nothing on the phone needs their answers: at
// once for a form without households; for one that registers or visits households,
// once the person's household lists were downloaded after it was sent (until then the
// phone's 我的家庭 applies it over the older list: app/entities.js pendingItems).
export async function pruneSent(owner) {
  const d = await db();
  const tx = d.transaction(['outbox', 'entityLists'], 'readwrite');
  const lists = await tx.objectStore('entityLists').getAll();
  const mine = lists.filter((l) => l.owner === owner);
  const listed = mine.length ? Math.min(...mine.map((l) => l.fetchedAt || 0)) : Infinity;
  for (const item of await tx.objectStore('outbox').index('owner').getAll(owner)) {
    if (item.status !== 'sent' || item.receipt) continue;
    if (!item.entities || (item.sentAt && item.sentAt < listed)) {
      await tx.objectStore('outbox').put(receipt(item));
    }
  }
  await tx.done;
}

// At logout (a shared phone): the person's sent work leaves the phone but for receipts
// with no summary, their household lists and forms' kept first screens go, and the forms go except the versions their
// unsent drafts and outbox need (unsent work is never lost). Returns the forms kept.
export async function forgetOnLogout(owner) {
  const d = await db();
  const tx = d.transaction(['outbox', 'drafts', 'forms', 'entityLists', 'meta'], 'readwrite');
  const needed = new Set();
  for (const x of await tx.objectStore('drafts').index('owner').getAll(owner)) needed.add(`${x.form_id}\u0000${x.version}`);
  for (const x of await tx.objectStore('outbox').index('owner').getAll(owner)) {
    if (x.status === 'sent') await tx.objectStore('outbox').put(receipt(x, { keepSummary: false }));
    else needed.add(`${x.form_id}\u0000${x.version}`);
  }
  let kept = 0;
  for (const f of await tx.objectStore('forms').index('owner').getAll(owner)) {
    if (needed.has(`${f.form_id}\u0000${f.version}`)) kept += 1;
    else await tx.objectStore('forms').delete([f.owner, f.form_id, f.version]);
  }
  for (const l of await tx.objectStore('entityLists').getAll()) {
    if (l.owner === owner) await tx.objectStore('entityLists').delete([l.owner, l.dataset]);
  }
  // The forms' kept first screens (app/snapshot.js): 'snapshot:<owner>:<form_id>'.
  await tx.objectStore('meta').delete(IDBKeyRange.bound(`snapshot:${owner}:`, `snapshot:${owner}:\uffff`));
  await tx.done;
  notify('outbox');
  return kept;
}

// { drafts, waiting, sent, attention } for the status bar. 'sending' counts as waiting
// (it is not confirmed yet), 'conflict' as attention.
export async function counts(owner) {
  const d = await db();
  const tx = d.transaction(['drafts', 'outbox']);
  const [drafts, items] = await Promise.all([
    tx.objectStore('drafts').index('owner').count(owner),
    tx.objectStore('outbox').index('owner').getAll(owner),
  ]);
  const c = { drafts, waiting: 0, sent: 0, attention: 0 };
  for (const i of items) {
    if (i.status === 'sent') c.sent += 1;
    else if (i.status === 'attention' || i.status === 'conflict') c.attention += 1;
    else c.waiting += 1;
  }
  return c;
}

// Explicit hand-over at logout ("删除本机未发送的问卷"): drafts and unsent outbox items go.
export async function discardUnsent(owner) {
  const d = await db();
  const tx = d.transaction(['drafts', 'outbox'], 'readwrite');
  for (const x of await tx.objectStore('drafts').index('owner').getAll(owner)) await tx.objectStore('drafts').delete(x.id);
  for (const x of await tx.objectStore('outbox').index('owner').getAll(owner)) {
    if (x.status !== 'sent') await tx.objectStore('outbox').delete(x.id);
  }
  await tx.done;
  notify('drafts');
}

// ---- locks -----------------------------------------------------------------------

// Run fn under a Web Lock (shared by tabs and the service worker) where the browser has
// them; `ifAvailable` returns null at once when another context holds the lock.
export async function withLock(name, fn, { ifAvailable = false } = {}) {
  const locks = typeof navigator !== 'undefined' && navigator.locks;
  if (!locks) return fn();
  return locks.request(name, { ifAvailable }, (lock) => (lock ? fn() : null));
}
