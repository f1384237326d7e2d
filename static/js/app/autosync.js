// When the app syncs (sync.js does the talking): one round at a time, a second call joins
// the running one, except a forced one (a questionnaire just finalized), which gets one
// more round after it (the running round may have read the outbox before it); at the
// start, when the network comes back, when the app comes to the front with something due,
// every 30 s for what is due (back-off decides), everything (forms too) every 15 minutes. When a round cannot reach the server, Background Sync
// asks the service worker to send the outbox as soon as there is a network.
import * as store from '../db.js';
import { fetchMe, syncAll } from '../sync.js';

export async function registerBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    if (reg && reg.sync) await reg.sync.register('outbox');
  } catch { /* no Background Sync here: the online event and the timer cover it */ }
}

export function createSync({ state, status, session }) {
  let syncing = null;
  let again = null; // the round after the running one, for forced calls made meanwhile
  let againForms = false; // whether one of those calls wanted the forms too
  async function sync({ force = false, forms = true } = {}) {
    if (syncing && force) {
      againForms = againForms || forms;
      if (!again) {
        again = syncing.then(() => {
          const wantForms = againForms;
          again = null;
          againForms = false;
          return sync({ force, forms: wantForms });
        });
      }
      return again;
    }
    if (syncing) return syncing;
    syncing = (async () => {
      status.setSyncing(true);
      try {
        let r = await syncAll({ force, forms });
        if (r.state === 'busy') { // another tab or the service worker is sending: just learn who we are
          const who = navigator.onLine === false ? { offline: true } : await fetchMe();
          r = who.ok ? { state: 'busy', me: who.me } : who.login ? { state: 'login' }
            : who.password ? { state: 'password', ...who.password }
            : who.deactivated ? { state: 'deactivated', ...who.deactivated } : { state: 'offline' };
        }
        if (r.me) {
          await session.adoptUser(r.me);
          session.showLogin(false);
        } else if (r.state === 'login') {
          if (!state.user) return r;
          session.showLogin(true);
        } else if (r.state === 'password') {
          session.showPasswordChange(r.message, r.url); // a one-time password: choose one's own first
        } else if (r.state === 'deactivated') {
          session.showLogin(true, r.message || '此账号已停用。已填写的问卷保存在本机，不会丢失；请联系督导。');
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

  // Something waiting whose back-off time has come?
  async function due() {
    if (!state.user) return false;
    const now = Date.now();
    return (await store.listOutbox(state.user.username))
      .some((i) => (i.status === 'waiting' || i.status === 'sending') && (!i.nextAttemptAt || i.nextAttemptAt <= now));
  }

  function start() {
    addEventListener('online', () => { status.refresh(); sync({ force: true }); });
    document.addEventListener('visibilitychange', async () => {
      if (document.visibilityState === 'visible' && navigator.onLine !== false && (await due())) sync({ forms: false });
    });
    // Periodic retry while the app is open, a full refresh every 15 minutes, and the ages
    // ("3 分钟前") of the status bar kept current.
    let ticks = 0;
    setInterval(async () => {
      ticks += 1;
      status.refresh();
      if (navigator.onLine === false) return;
      if (ticks % 30 === 0) sync();
      else if (await due()) sync({ forms: false });
    }, 30e3);
  }

  return { sync, start };
}
