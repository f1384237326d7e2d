// Push reminders on this phone (issue 13), the page's side: what the browser can do, turning
// push on (the browser's permission, a subscription with the server's VAPID key from
// GET /api/v1/push/key, POSTed to /api/v1/push/subscriptions) and off (unsubscribe and
// DELETE), the reminder preferences (GET/PUT /api/v1/reminders/preferences), periodic
// background sync ('todo-refresh', sw.js) where the phone has it. Every network step and
// every browser step that may wait on a push service has a time limit (as net.js
// timedFetch): a phone with no Google services, or a push service unreachable from here,
// ends in a clear message, never a spinner that never stops.
import * as store from '../db.js';
import { fetchCsrfToken, timedFetch } from '../net.js';

export const PERIODIC_TAG = 'todo-refresh';
const API = '/api/v1';
const NET_MS = 15_000;
const SUBSCRIBE_MS = 20_000;

export class PushError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

function within(promise, ms, code, message) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new PushError(code, message)), ms); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// What this browser offers, synchronously: { secure, sw, notification, permission
// ('granted'|'denied'|'default'|null), push, periodic (null: not known before the service
// worker is ready) }.
export function capabilities() {
  const hasWindow = typeof window !== 'undefined';
  const notification = hasWindow && 'Notification' in window;
  return {
    secure: hasWindow ? !!window.isSecureContext : false,
    sw: typeof navigator !== 'undefined' && 'serviceWorker' in navigator,
    notification,
    permission: notification ? Notification.permission : null,
    push: hasWindow && 'PushManager' in window,
    periodic: hasWindow && 'PeriodicSyncManager' in window,
  };
}

async function registration(ms = 10_000) {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await within(navigator.serviceWorker.ready, ms, 'sw', '');
  } catch { return null; }
}

// The push subscription of this browser, or null (none, or no way to tell in time).
export async function currentSubscription() {
  const reg = await registration(5000);
  if (!reg || !reg.pushManager) return null;
  try {
    return await within(reg.pushManager.getSubscription(), 5000, 'push', '');
  } catch { return null; }
}

// A JSON call to the API with the session (and a CSRF token for writes). Resolves to
// { ok, status, data } or throws PushError('network') / ('login').
export async function api(method, path, body, { token = null } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    let t = token;
    try { if (!t) t = await fetchCsrfToken(); } catch { throw new PushError('network', '没有网络，或服务器暂时连不上。请稍后再试。'); }
    if (t === null) throw new PushError('login', '登录已过期，请重新登录后再试。');
    headers['X-CSRFToken'] = t;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await timedFetch(`${API}${path}`, {
      method, headers, credentials: 'same-origin', redirect: 'manual', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    }, NET_MS);
  } catch {
    throw new PushError('network', '没有网络，或服务器暂时连不上。请稍后再试。');
  }
  if (res.status === 401 || res.type === 'opaqueredirect') throw new PushError('login', '登录已过期，请重新登录后再试。');
  let data = null;
  try { data = res.status === 204 ? null : await res.json(); } catch { data = null; }
  return { ok: res.ok, status: res.status, data };
}

const errorText = (r, fallback) => (r.data && r.data.error && (r.data.error.message || r.data.error)) || fallback;

// base64url (no padding) -> Uint8Array, for applicationServerKey.
export function keyBytes(b64) {
  const s = String(b64).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function deviceLabel() {
  const ua = navigator.userAgent || '';
  const android = /Android\s([\d.]+)/.exec(ua);
  const chrome = /(?:Chrome|Chromium)\/(\d+)/.exec(ua);
  const browser = /MicroMessenger/.test(ua) ? '微信' : /HuaweiBrowser/.test(ua) ? '华为浏览器'
    : /MiuiBrowser/.test(ua) ? '小米浏览器' : /UCBrowser/.test(ua) ? 'UC浏览器' : chrome ? `Chrome ${chrome[1]}` : '浏览器';
  return `${android ? `Android ${android[1]}` : (navigator.platform || '')} · ${browser}`.trim().slice(0, 60);
}

// Ask the browser, subscribe, tell the server. `step(text)` is told what happens now.
// Resolves on success; throws PushError with a Chinese message otherwise.
export async function turnOn(step = () => {}) {
  const cap = capabilities();
  if (!cap.secure) throw new PushError('insecure', '此地址不是 https 开头，浏览器不允许通知。请让管理员为服务器配置 HTTPS。');
  if (!cap.sw || !cap.notification || !cap.push) {
    throw new PushError('unsupported', '这个浏览器不支持推送提醒。提醒会显示在“待办”里，每次打开应用都能看到。');
  }
  step('正在请求通知权限…');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new PushError('denied', permission === 'denied'
      ? '您没有允许通知。如需开启，请在浏览器的“网站设置 → 通知”里允许本网站，再回到这里。'
      : '您还没有允许通知，推送提醒没有开启。');
  }
  step('正在取得服务器的推送密钥…');
  const key = await api('GET', '/push/key');
  if (!key.ok || !key.data || !key.data.public_key) throw new PushError('server', errorText(key, `服务器没有给出推送密钥（HTTP ${key.status}）。请联系管理员。`));
  const reg = await registration();
  if (!reg || !reg.pushManager) throw new PushError('sw', '应用的后台服务还没有准备好，请刷新页面后再试。');
  step('正在连接手机的推送服务…');
  let sub;
  const noService = '连不上推送服务：这部手机或浏览器可能没有谷歌服务，或者推送服务在这里无法连接。'
    + '提醒会显示在“待办”里，每次打开应用都能看到，没有网络也能看。';
  try {
    sub = await within(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.data.public_key) }),
      SUBSCRIBE_MS, 'push_service', noService);
  } catch (err) {
    if (err instanceof PushError) throw err;
    // An old subscription made with another key: drop it and try once more.
    if (err && err.name === 'InvalidStateError') {
      const old = await reg.pushManager.getSubscription();
      if (old) await old.unsubscribe().catch(() => {});
      sub = await within(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.data.public_key) }),
        SUBSCRIBE_MS, 'push_service', noService).catch((e) => { throw e instanceof PushError ? e : new PushError('push_service', noService); });
    } else {
      throw new PushError('push_service', noService);
    }
  }
  step('正在把这部手机登记到服务器…');
  const saved = await api('POST', '/push/subscriptions', { ...sub.toJSON(), device: deviceLabel() });
  if (!saved.ok) {
    await sub.unsubscribe().catch(() => {});
    throw new PushError('server', errorText(saved, `服务器没有接受这部手机的推送登记（HTTP ${saved.status}）。`));
  }
  await registerPeriodicRefresh();
  return sub;
}

// Unsubscribe this browser and tell the server (DELETE). The browser side goes even when
// the server cannot be told (offline): no push reaches a subscription that is gone.
// Returns { told: whether the server confirmed }.
export async function turnOff({ token = null } = {}) {
  const sub = await currentSubscription();
  if (!sub) return { told: true };
  let told = false;
  try {
    const r = await api('DELETE', '/push/subscriptions', { endpoint: sub.endpoint }, { token });
    told = r.ok || r.status === 404;
  } catch { told = false; }
  await within(sub.unsubscribe(), 5000, 'push', '').catch(() => {});
  return { told };
}

// Periodic background sync where the browser has it (Chrome, app installed): the service
// worker refreshes 待办 about once a day and may show a local notification. Guarded:
// anything missing or refused leaves it off, silently. Returns 'on' | 'off' | 'unsupported'.
export async function registerPeriodicRefresh() {
  try {
    const reg = await registration(5000);
    if (!reg || !('periodicSync' in reg)) return 'unsupported';
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return 'off';
    if (navigator.permissions) {
      const p = await navigator.permissions.query({ name: 'periodic-background-sync' }).catch(() => null);
      if (p && p.state !== 'granted') return 'off';
    }
    await reg.periodicSync.register(PERIODIC_TAG, { minInterval: 12 * 3600e3 });
    return 'on';
  } catch { return 'off'; }
}

export async function periodicState() {
  try {
    const reg = await registration(5000);
    if (!reg || !('periodicSync' in reg)) return 'unsupported';
    return (await reg.periodicSync.getTags()).includes(PERIODIC_TAG) ? 'on' : 'off';
  } catch { return 'unsupported'; }
}

// Preferences: the server's, kept on the phone too (meta 'reminderPrefs:<owner>') for the
// service worker's quiet hours and for showing them offline. { prefs, offline }.
export async function loadPreferences(owner) {
  try {
    const r = await api('GET', '/reminders/preferences');
    if (r.ok && r.data) {
      await store.setMeta(`reminderPrefs:${owner}`, r.data);
      return { prefs: r.data, offline: false };
    }
    return { prefs: (await store.getMeta(`reminderPrefs:${owner}`)) || null, offline: true, error: errorText(r, `服务器暂时出错（HTTP ${r.status}）`) };
  } catch (err) {
    return { prefs: (await store.getMeta(`reminderPrefs:${owner}`)) || null, offline: true, error: err.message };
  }
}

export async function savePreferences(owner, prefs) {
  const r = await api('PUT', '/reminders/preferences', prefs);
  if (!r.ok) throw new PushError('server', errorText(r, `没有保存（HTTP ${r.status}）`));
  await store.setMeta(`reminderPrefs:${owner}`, r.data || prefs);
  return r.data || prefs;
}

// Logout on a shared phone: this device's push goes (DELETE with the session still open,
// then unsubscribe), periodic refresh stops and shown reminders are closed, so the next
// person on the phone gets nothing of theirs. Never throws; bounded in time.
export async function forgetPush(token) {
  try { await turnOff({ token }); } catch { /* best effort */ }
  try {
    const reg = await registration(3000);
    if (reg && 'periodicSync' in reg) await reg.periodicSync.unregister(PERIODIC_TAG).catch(() => {});
    if (reg && reg.getNotifications) for (const n of await reg.getNotifications()) n.close();
  } catch { /* nothing to forget */ }
}
