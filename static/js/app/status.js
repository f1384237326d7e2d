// The status bar, always on screen: how many questionnaires are drafts, waiting to be
// sent (not yet on the server), sent (confirmed by the server), and need attention, and
// when the last sync succeeded. "待发送" (amber, clock) never looks like "已发送" (green, tick).
import * as store from '../db.js';
import { ago, h } from './util.js';

const CELLS = [
  ['drafts', '草稿', '✎'],
  ['waiting', '待发送', '○'],
  ['sent', '已发送', '✓'],
  ['attention', '需处理', '!'],
];

export function createStatusBar({ onSyncNow }) {
  const nums = {};
  const cells = CELLS.map(([key, label, icon]) => {
    // '–' until the person's counts are read (on opening a form, after its first screen).
    nums[key] = h('b', { class: 'count-num', dataset: { count: key } }, '–');
    return h('div', { class: `count count-${key}` },
      h('span', { class: 'count-icon', 'aria-hidden': 'true' }, icon), nums[key],
      h('span', { class: 'count-label' }, label));
  });
  const net = h('span', { id: 'net-state' });
  const last = h('span', { id: 'last-sync' }, '');
  const syncBtn = h('button', { type: 'button', id: 'sync-now', class: 'sync-now', onclick: onSyncNow }, '立即同步');
  const el = h('div', { id: 'status-bar', role: 'status', 'aria-live': 'polite' },
    h('div', { class: 'counts' }, cells),
    h('div', { class: 'sync-line' }, net, last, syncBtn));

  let owner = null;
  let syncing = false;
  async function refresh() {
    const online = navigator.onLine !== false;
    net.textContent = syncing ? '正在同步…' : online ? '有网络' : '无网络（离线）';
    net.className = syncing ? 'net-syncing' : online ? 'net-online' : 'net-offline';
    if (!owner) return;
    const c = await store.counts(owner);
    for (const [k] of CELLS) {
      nums[k].textContent = String(c[k]);
      nums[k].parentElement.classList.toggle('count-zero', c[k] === 0);
    }
    const t = await store.getMeta(`lastSync:${owner}`);
    last.textContent = `上次同步：${ago(t)}`;
    syncBtn.disabled = syncing || !online;
  }
  return {
    el,
    refresh,
    setOwner(o) { owner = o; return refresh(); },
    setSyncing(v) { syncing = v; return refresh(); },
  };
}
