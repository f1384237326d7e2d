// Home: 待办 (todoview.js: how many things wait today), 本期报告 (each report the unit files: status, the one-tap zero report), 我的家庭
// (how many households, how many visits overdue or due) when the person's forms follow
// households, then unfinished work — drafts (resume or discard) — then the person's
// forms (from IndexedDB, refreshed by sync) and their outbox (waiting, sent, needing
// attention); a sent one the person may still correct has 修改 (correct.js, online only).
import * as store from '../db.js';
import { entityForms, HOUSEHOLDS } from './caselist.js';
import { dueCounts, householdsEntry } from './households.js';
import { mayOfferCorrection, replacedOnPhone } from './correct.js';
import { reportCards } from './reportcard.js';
import { dropStaleCopies } from './snapshot.js';
import { loadTodo } from './todostate.js';
import { todoEntry } from './todoview.js';
import { ago, h } from './util.js';

const STATUS = {
  waiting: ['待发送', '还没有发到服务器，有网络时自动发送'],
  sending: ['正在发送', '正在发到服务器…'],
  sent: ['已发送', '服务器已收到'],
  attention: ['需处理', '服务器拒收：'],
  conflict: ['冲突', '服务器上已有同一编号、内容不同的问卷，请联系督导：'],
};

// `onQueued(notice)`: a zero report went into the outbox from a report card.
// `corrections`: /me's { allowed, days } (who corrects sent records, for how long).
export async function renderHome(container, { owner, notice, onSyncNow, onQueued, corrections }) {
  const [forms, drafts, outbox] = await Promise.all([
    store.listForms(owner), store.listDrafts(owner), store.listOutbox(owner),
  ]);
  dropStaleCopies(owner, forms); // a form updated since its first screen was kept
  const parts = [];
  if (notice) parts.push(h('p', { class: 'notice', role: 'status' }, notice));
  const todo = await loadTodo(owner); // also notes households newly in the list (新分配)
  parts.push(todoEntry(todo.items));
  parts.push(...await reportCards(owner, { outbox, forms, onQueued }));
  const follows = entityForms(forms, HOUSEHOLDS);
  if (follows.update.length || follows.create.length) parts.push(householdsEntry(dueCounts(todo.rows)));

  parts.push(h('h2', {}, `草稿（${drafts.length}）`));
  if (!drafts.length) parts.push(h('p', { class: 'empty' }, '没有未完成的草稿。'));
  else {
    parts.push(h('ul', { class: 'draft-list' }, drafts.map((d) => {
      const p = d.progress || { answered: 0, total: 0 };
      const pct = p.total ? Math.round((100 * p.answered) / p.total) : 0;
      return h('li', { class: 'draft-item', dataset: { instanceId: d.id } },
        h('div', { class: 'item-title' }, d.title),
        d.summary ? h('div', { class: 'item-summary' }, d.summary) : null,
        h('div', { class: 'item-meta' }, `${ago(d.updated)}保存 · 已答 ${p.answered}/${p.total} 题`),
        h('div', { class: 'progress', 'aria-hidden': 'true' }, h('span', { style: { width: `${pct}%` } })),
        h('div', { class: 'item-actions' },
          h('button', {
            type: 'button', class: 'primary resume',
            onclick: () => { location.hash = `#/draft/${encodeURIComponent(d.id)}`; },
          }, '继续填写'),
          h('button', {
            type: 'button', class: 'danger discard',
            onclick: async () => {
              if (!window.confirm(`确定删除这份“${d.title}”草稿吗？删除后无法恢复。`)) return;
              await store.deleteDraft(owner, d.id);
            },
          }, '删除')));
    })));
  }

  parts.push(h('h2', {}, '填写新问卷'));
  if (!forms.length) {
    parts.push(h('p', { class: 'empty' }, navigator.onLine === false
      ? '本机还没有问卷。请在有网络时打开本页，问卷会自动下载。'
      : '正在下载问卷，或您所在的区域还没有发布问卷。'));
  } else {
    parts.push(h('ul', { class: 'form-list' }, forms.map((f) => h('li', { class: 'form-item' },
      // The version is for support staff (data-version), not something a worker reads.
      h('a', { class: 'form-link', href: `#/new/${encodeURIComponent(f.form_id)}`, dataset: { formId: f.form_id, version: f.version } },
        h('span', { class: 'form-title' }, f.title))))));
  }


  const unsent = outbox.filter((i) => i.status !== 'sent');
  const sent = outbox.filter((i) => i.status === 'sent').sort((a, b) => b.sentAt - a.sentAt).slice(0, 20);
  parts.push(h('h2', {}, `发送箱（${unsent.length} 份未发送）`));
  if (!outbox.length) parts.push(h('p', { class: 'empty' }, '还没有完成的问卷。'));
  const list = h('ul', { class: 'outbox-list' });
  const replaced = replacedOnPhone(drafts, outbox); // sent ones a correction on this phone replaces
  for (const i of [...unsent, ...sent]) {
    const [word, explain] = STATUS[i.status] || STATUS.waiting;
    const when = i.status === 'sent' ? `${ago(i.sentAt)}发送` : `${ago(i.created)}完成`;
    const detail = (i.status === 'attention' || i.status === 'conflict') ? `${explain}${i.lastError || ''}`
      : (i.status === 'waiting' && i.lastError) ? `${explain}（上次：${i.lastError}）`
        : (i.status === 'sent' && replaced.has(i.id)) ? `${explain}；已修改，以修改后的版本为准` : explain;
    const li = h('li', { class: `outbox-item status-${i.status}`, dataset: { instanceId: i.id, status: i.status } },
      h('div', { class: 'item-title' }, h('span', { class: `badge badge-${i.status}` }, word), ' ', i.title),
      i.summary ? h('div', { class: 'item-summary' }, i.summary) : null,
      h('div', { class: 'item-meta' }, when),
      h('div', { class: 'item-detail' }, detail));
    if (i.status === 'attention') {
      li.append(h('div', { class: 'item-actions' }, h('button', {
        type: 'button', class: 'retry',
        onclick: async () => { await store.retryOutbox(owner, i.id); onSyncNow(); },
      }, '再次发送')));
    }
    if (mayOfferCorrection(i, corrections, replaced)) {
      const note = h('div', { class: 'item-note', role: 'alert', hidden: true });
      li.append(h('div', { class: 'item-actions' }, h('button', {
        type: 'button', class: 'correct',
        onclick: () => {
          if (navigator.onLine === false) {
            note.textContent = '需要联网才能修改已发送的问卷。';
            note.hidden = false;
            return;
          }
          location.hash = `#/correct/${encodeURIComponent(i.id)}`;
        },
      }, '修改')), note);
    }
    list.append(li);
  }
  if (outbox.length) parts.push(list);
  container.replaceChildren(...parts);
}
