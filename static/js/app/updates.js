// The service worker and app updates: register /sw.js; a new version waits until the
// worker taps "有新版本" (the open draft is saved first), then the page reloads once under
// the new worker. While the app stays open it looks for a new version every 30 minutes.
import { h } from './util.js';

export function createUpdates({ state }) {
  const el = h('button', { type: 'button', id: 'update-ready', hidden: true }, '有新版本，点此更新');
  let updateRequested = false;

  async function register() {
    if (!('serviceWorker' in navigator)) return;
    let reg;
    try {
      reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    } catch (err) {
      console.warn('fieldapp: no service worker', err);
      return;
    }
    const offer = () => { if (navigator.serviceWorker.controller) el.hidden = false; };
    if (reg.waiting) offer();
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      if (w) w.addEventListener('statechange', () => { if (w.state === 'installed') offer(); });
    });
    el.addEventListener('click', async () => {
      updateRequested = true;
      el.disabled = true;
      el.textContent = '正在更新…';
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
    setInterval(() => { if (navigator.onLine !== false) reg.update().catch(() => {}); }, 30 * 60e3);
  }

  return { el, register };
}
