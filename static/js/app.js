// Entry of the offline phone app (templates/app/shell.html, served at /app).
//
// Offline first: everything shown comes from IndexedDB (db.js); the network only
// refreshes it (sync.js) and empties the outbox. Routes: #/ (home), #/new/<form_id>,
// #/draft/<instanceID>. The service worker (sw.js) keeps the shell and code cached.
import * as store from './db.js';
import { fetchMe, syncAll, userOf } from './sync.js';
import { createStatusBar } from './app/status.js';
import { renderHome } from './app/home.js';
import { choose, h } from './app/util.js';

const RESUME_KEY = 'fieldapp.resume';
const root = document.getElementById('app');
const cfg = root.dataset;
const state = { user: null, view: null, notice: '', loginNeeded: false, routeToken: 0 };

const status = createStatusBar({ onSyncNow: () => sync({ force: true }) });
const userEl = h('span', { class: 'app-user' });
const logoutBtn = h('button', { type: 'button', id: 'logout-btn', class: 'link-button', onclick: logout }, '退出登录');
const loginLink = h('a', {
  class: 'button primary', href: cfg.loginUrl || '/login?next=/app',
  onclick: () => sessionStorage.setItem(RESUME_KEY, location.hash || '#/'),
}, '请重新登录');
const loginText = h('span', { class: 'login-text' });
const loginBox = h('div', { id: 'login-needed', role: 'alert', hidden: true }, loginText, loginLink);
const updateBtn = h('button', { type: 'button', id: 'update-ready', hidden: true }, '有新版本，点此更新');
const storageBox = h('div', { id: 'storage-warning', role: 'alert', hidden: true });
const viewEl = h('main', { id: 'view' });

function layout() {
  root.replaceChildren(
    h('div', { class: 'app-head' },
      h('header', { class: 'app-top' }, h('a', { class: 'app-brand', href: '#/' }, '平安家庭'), userEl, logoutBtn),
      status.el, loginBox, updateBtn),
    viewEl);
}

// ---- login state ----

function showLogin(needed, text) {
  state.loginNeeded = needed;
  loginBox.hidden = !needed;
  loginText.textContent = text || '登录已过期。已填写的问卷都保存在本机，不会丢失；重新登录后会自动发送。';
}

async function refreshLoginFlag() {
  if (!state.user) return;
  const flag = await store.getMeta(`loginNeeded:${state.user.username}`);
  if (navigator.onLine !== false) showLogin(!!flag);
}

async function adoptUser(me) {
  const user = userOf(me);
  const changed = !state.user || state.user.username !== user.username;
  if (changed || JSON.stringify(state.user) !== JSON.stringify(user)) await store.setCurrentUser(user);
  state.user = user;
  showUser();
  if (changed) {
    await status.setOwner(user.username);
    route();
  }
}

function showUser() {
  const u = state.user;
  userEl.textContent = u ? `${u.display_name || u.username}${u.area && u.area.name ? ` · ${u.area.name}` : ''}` : '';
  logoutBtn.hidden = !u;
}

// ---- sync ----

let syncing = null;
async function sync({ force = false, forms = true } = {}) {
  if (syncing) return syncing;
  syncing = (async () => {
    status.setSyncing(true);
    try {
      let r = await syncAll({ force, forms });
      if (r.state === 'busy') { // another tab or the service worker is sending: just learn who we are
        const who = navigator.onLine === false ? { offline: true } : await fetchMe();
        r = who.ok ? { state: 'busy', me: who.me } : who.login ? { state: 'login' } : { state: 'offline' };
      }
      if (r.me) {
        await adoptUser(r.me);
        showLogin(false);
      } else if (r.state === 'login') {
        if (!state.user) return r;
        showLogin(true);
      }
      if (r.state === 'offline') registerBackgroundSync();
      return r;
    } catch (err) {
      console.error('fieldapp: sync failed', err);
      registerBackgroundSync();
      return { state: 'error' };
    } finally {
      syncing = null;
      status.setSyncing(false);
    }
  })();
  return syncing;
}

async function registerBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    if (reg && reg.sync) await reg.sync.register('outbox');
  } catch { /* no Background Sync here: the online event and the timer cover it */ }
}

// Something waiting whose back-off time has come?
async function due() {
  if (!state.user) return false;
  const now = Date.now();
  return (await store.listOutbox(state.user.username))
    .some((i) => (i.status === 'waiting' || i.status === 'sending') && (!i.nextAttemptAt || i.nextAttemptAt <= now));
}

// ---- routes ----

function parseRoute() {
  const m = /^#\/(new|draft)\/(.+)$/.exec(location.hash);
  if (m) return { kind: m[1], id: decodeURIComponent(m[2]) };
  return { kind: 'home' };
}

async function route() {
  const token = ++state.routeToken;
  if (state.view) {
    const old = state.view;
    state.view = null;
    try { await old.dispose(); } catch (err) { console.error(err); }
  }
  if (token !== state.routeToken) return;
  if (!state.user) {
    viewEl.replaceChildren(h('div', { class: 'card first-run' },
      h('h2', {}, '请先登录'),
      h('p', {}, navigator.onLine === false
        ? '第一次使用需要联网登录一次；之后没有网络也能填写问卷。'
        : '登录后，您所在区域的问卷会下载到本机，没有网络也能填写。'),
      h('a', { class: 'button primary', href: cfg.loginUrl || '/login?next=/app' }, '登录')));
    return;
  }
  const r = parseRoute();
  const owner = state.user.username;
  document.body.classList.toggle('filling', r.kind !== 'home');
  if (r.kind === 'home') {
    document.title = '平安家庭';
    state.view = { dispose: async () => {}, home: true };
    await renderHomeNow();
    checkStorage();
    return;
  }
  viewEl.replaceChildren(h('p', { class: 'form-status' }, '正在打开问卷…'));
  const { showFill } = await import('./app/fillview.js');
  if (token !== state.routeToken) return;
  const v = await showFill(viewEl, {
    owner, route: r,
    onFinalized: () => { sync({ force: true, forms: false }); registerBackgroundSync(); },
    setNotice: (text) => { state.notice = text; },
  });
  if (token !== state.routeToken) { v.dispose(); return; }
  state.view = v;
}

let homeQueued = false;
async function renderHomeNow() {
  if (!state.user || !state.view || !state.view.home) return;
  const notice = state.notice;
  state.notice = '';
  await renderHome(viewEl, { owner: state.user.username, notice, onSyncNow: () => sync({ force: true }) });
  storageBox.remove();
  viewEl.prepend(storageBox);
}
function refreshHomeSoon() {
  if (homeQueued) return;
  homeQueued = true;
  setTimeout(() => { homeQueued = false; renderHomeNow(); }, 100);
}

// ---- storage ----

async function checkStorage() {
  if (!navigator.storage) return;
  let persisted = false;
  try {
    persisted = await navigator.storage.persisted();
    if (!persisted && !(await store.getMeta('persistAsked'))) {
      await store.setMeta('persistAsked', Date.now());
      persisted = await navigator.storage.persist();
    }
  } catch { /* ignore */ }
  let low = false;
  let freeMB = null;
  try {
    const { quota, usage } = await navigator.storage.estimate();
    if (quota) {
      const free = quota - (usage || 0);
      freeMB = Math.floor(free / 1048576);
      low = free < 50 * 1048576 || free / quota < 0.1;
    }
  } catch { /* ignore */ }
  await store.setMeta('storage', { persisted, low, freeMB, at: Date.now() });
  const texts = [];
  if (low) texts.push(`手机存储空间快满了（剩余约 ${freeMB} MB）。`);
  if (!persisted) texts.push('浏览器没有允许长期保存本机数据，空间紧张时可能被清除。');
  if (texts.length) texts.push('请尽快联网同步，把问卷发送出去；不要清除浏览器数据。');
  storageBox.textContent = texts.join('');
  storageBox.hidden = !texts.length;
}

// ---- logout ----

let loggingOut = false;
async function logout() {
  const owner = state.user && state.user.username;
  if (!owner) return;
  const c = await store.counts(owner);
  const unsent = c.drafts + c.waiting + c.attention;
  let discard = false;
  if (unsent) {
    const choice = await choose(
      `还有 ${unsent} 份未发送的问卷（草稿 ${c.drafts}，待发送 ${c.waiting}，需处理 ${c.attention}）。退出后它们仍保存在本机，您下次登录后可继续填写和发送。`,
      [
        { value: 'keep', text: '退出（保留在本机）', class: 'primary' },
        { value: null, text: '取消' },
        { value: 'discard', text: '删除未发送的问卷并退出', class: 'danger' },
      ]);
    if (!choice) return;
    if (choice === 'discard') {
      if (!window.confirm(`确定删除这 ${unsent} 份未发送的问卷吗？删除后无法恢复，服务器上也没有。`)) return;
      discard = true;
    }
  }
  let token = '';
  try {
    const res = await fetch('/csrf-token', { credentials: 'same-origin', cache: 'no-store', redirect: 'manual' });
    if (res.ok) token = (await res.json()).token;
    else if (res.status !== 401 && res.type !== 'opaqueredirect') throw new Error(String(res.status));
  } catch {
    window.alert('需要联网才能退出登录。问卷都保存在本机。');
    return;
  }
  loggingOut = true;
  if (state.view) { await state.view.dispose(); state.view = null; }
  if (discard) await store.discardUnsent(owner);
  await store.setCurrentUser(null);
  sessionStorage.removeItem(RESUME_KEY);
  if (token) {
    // POST by fetch, not by a form navigation: a navigation also makes the browser re-check
    // /sw.js at the same moment, and that response (with the old session cookie) can undo
    // the logout when it lands last.
    const body = new FormData();
    body.append('csrf_token', token);
    try {
      await fetch('/logout', { method: 'POST', body, credentials: 'same-origin', redirect: 'manual' });
    } catch { /* the login page below tells whether we are still logged in */ }
  }
  location.assign(cfg.loginUrl || '/login?next=/app');
}

// ---- service worker and updates ----

let updateRequested = false;
async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  let reg;
  try {
    reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  } catch (err) {
    console.warn('fieldapp: no service worker', err);
    return;
  }
  const offer = () => { if (navigator.serviceWorker.controller) updateBtn.hidden = false; };
  if (reg.waiting) offer();
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    if (w) w.addEventListener('statechange', () => { if (w.state === 'installed') offer(); });
  });
  updateBtn.addEventListener('click', async () => {
    updateRequested = true;
    updateBtn.disabled = true;
    updateBtn.textContent = '正在更新…';
    if (state.view) await state.view.dispose().catch(() => {}); // save the open draft first
    state.view = null;
    if (reg.waiting) reg.waiting.postMessage({ type: 'SKIP_WAITING' });
    else location.reload();
  });
  let reloaded = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!updateRequested || reloaded) return;
    reloaded = true;
    location.reload();
  });
  // Look for a new version now and then while the app stays open.
  setInterval(() => { if (navigator.onLine !== false) reg.update().catch(() => {}); }, 30 * 60e3);
}

// ---- start ----

async function main() {
  layout();
  registerServiceWorker();
  // Back from the login page: continue where the worker was.
  const resume = sessionStorage.getItem(RESUME_KEY);
  if (resume) {
    sessionStorage.removeItem(RESUME_KEY);
    if (!location.hash || location.hash === '#/' || location.hash === '#') history.replaceState(null, '', resume);
  }
  state.user = await store.getCurrentUser();
  showUser();
  if (state.user) {
    await status.setOwner(state.user.username);
    await refreshLoginFlag();
    route();
    sync();
  } else {
    status.refresh();
    const r = navigator.onLine === false ? { state: 'offline' } : await sync();
    if (!r.me) route(); // adoptUser routes when someone is logged in
  }

  addEventListener('hashchange', route);
  addEventListener('online', () => { status.refresh(); sync({ force: true }); });
  addEventListener('offline', () => { status.refresh(); showLogin(false); });
  document.addEventListener('visibilitychange', async () => {
    if (document.visibilityState === 'visible' && navigator.onLine !== false && (await due())) sync({ forms: false });
  });
  store.onChange(async (what) => {
    if (what === 'user') {
      if (loggingOut) return;
      const u = await store.getCurrentUser();
      if ((u && u.username) !== (state.user && state.user.username)) location.reload(); // someone else logged in (other tab)
      return;
    }
    status.refresh();
    if (what === 'login') refreshLoginFlag();
    refreshHomeSoon();
  });
  // Periodic retry while the app is open (back-off decides what is due), a full
  // refresh (forms too) every 15 minutes, and the ages ("3 分钟前") kept current.
  let ticks = 0;
  setInterval(async () => {
    ticks += 1;
    status.refresh();
    if (navigator.onLine === false) return;
    if (ticks % 30 === 0) sync();
    else if (await due()) sync({ forms: false });
  }, 30e3);
  navigator.serviceWorker?.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'synced') { status.refresh(); refreshHomeSoon(); }
  });
}

main();
