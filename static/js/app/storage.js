// Keeping the phone's data: ask the browser once to keep this site's storage for good, and
// warn on the home screen when it did not agree or when space runs low (a cleared browser
// loses unsent questionnaires). The finding is kept in IndexedDB meta 'storage'.
import * as store from '../db.js';
import { h } from './util.js';

export function createStorageCheck() {
  const el = h('div', { id: 'storage-warning', role: 'alert', hidden: true });

  async function check() {
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
    el.textContent = texts.join('');
    el.hidden = !texts.length;
  }

  return { el, check };
}
