// Entry of the offline phone app (templates/app/shell.html, served at /app).
//
// Offline first: everything shown comes from IndexedDB (db.js); the network only
// refreshes it (sync.js) and empties the outbox. The pieces live in app/: the screens
// (router.js: home.js, fillview.js), who is logged in (session.js), when to sync
// (autosync.js), the status bar (status.js), storage warnings (storage.js) and updates
// (updates.js). The service worker (sw.js) keeps the shell and code cached.
import * as store from './db.js';
import { createSync } from './app/autosync.js';
import { createRouter, isFillRoute, paintEarlyCopy, preloadFill } from './app/router.js';
import { rememberOwner } from './app/snapshot.js';
import { createSession } from './app/session.js';
import { createStatusBar } from './app/status.js';
import { createStorageCheck } from './app/storage.js';
import { createUpdates } from './app/updates.js';
import { registerPeriodicRefresh } from './app/push.js';
import { h } from './app/util.js';

const root = document.getElementById('app');
const loginUrl = root.dataset.loginUrl || '/login?next=/app';
// user: the person whose work is shown; view: the open screen ({ dispose() });
// notice: a line for the next home screen; routeToken: which route() call is the latest.
const state = { user: null, view: null, notice: '', loginNeeded: false, routeToken: 0 };

const status = createStatusBar({ onSyncNow: () => sync({ force: true }) });
const session = createSession({ state, status, loginUrl, onUserChanged: () => router.route() });
const { sync, start: startSync } = createSync({ state, status, session });
const storage = createStorageCheck();
const updates = createUpdates({ state });
const viewEl = h('main', { id: 'view' });
const router = createRouter({ state, viewEl, loginUrl, sync, storage });

function layout() {
  root.replaceChildren(
    h('div', { class: 'app-head' },
      h('header', { class: 'app-top' }, h('a', { class: 'app-brand', href: '#/' }, '平安家庭'), session.userEl, session.logoutBtn),
      status.el, session.loginBox, updates.el),
    viewEl);
}

async function main() {
  performance.mark('fieldapp:app-start');
  layout();
  session.resume();
  // A reload of a form's address: its kept first screen, before anything is read.
  paintEarlyCopy(viewEl);
  // Opening a form (a reload of #/new/<form_id>, issue 12's warm open): its code starts
  // loading now, the form is routed to as soon as the person is known, and what its first
  // question does not need (the status bar's counts, the login flag, the first sync, the
  // service worker's update check) comes once the form is drawn.
  const filling = isFillRoute();
  preloadFill();
  state.user = await store.getCurrentUser();
  performance.mark('fieldapp:user-read');
  rememberOwner(state.user && state.user.username);
  session.showUser();
  const rest = async () => {
    updates.register();
    await status.setOwner(state.user.username);
    await session.refreshLoginFlag();
  };
  if (state.user && filling) {
    router.route().catch(() => {}).then(rest).then(() => sync());
  } else if (state.user) {
    await rest();
    router.route();
    sync();
  } else {
    updates.register();
    status.refresh();
    const r = navigator.onLine === false ? { state: 'offline' } : await sync();
    if (!r.me) router.route(); // adoptUser routes when someone is logged in
  }

  addEventListener('hashchange', router.route);
  addEventListener('offline', () => { status.refresh(); session.showLogin(false); });
  startSync();
  store.onChange(async (what) => {
    if (what === 'user') {
      if (session.loggingOut()) return;
      const u = await store.getCurrentUser();
      if ((u && u.username) !== (state.user && state.user.username)) location.reload(); // someone else logged in (other tab)
      return;
    }
    if (what !== 'draft') status.refresh(); // a draft's answers saved: its counts are the same
    if (what === 'login') session.refreshLoginFlag();
    router.refreshHomeSoon();
  });
  navigator.serviceWorker?.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'synced') { status.refresh(); router.refreshHomeSoon(); }
    if (e.data && e.data.type === 'navigate') openFromWorker(e.data.url); // a tapped reminder (sw.js)
  });
  // Notifications allowed: keep the daily 待办 refresh registered where the phone has it.
  if (state.user && typeof Notification !== 'undefined' && Notification.permission === 'granted') registerPeriodicRefresh();
}

// The service worker asks the open app to show `url` (same origin only).
function openFromWorker(raw) {
  let u;
  try { u = new URL(raw, location.origin); } catch { return; }
  if (u.origin !== location.origin) return;
  if (u.pathname.replace(/\/$/, '') === location.pathname.replace(/\/$/, '')) {
    if (location.hash !== (u.hash || '#/')) location.hash = u.hash || '#/';
  } else {
    location.assign(u.href);
  }
}

main();
