// 我的家庭 (#/households): the person's households from the phone's own list (caselist.js:
// the server's last download with their unsent work on top), overdue and due visits first,
// a search by name that filters on the phone as one types, 记录走访 opening the visit form
// with the household chosen, 登记新家庭 opening the screening form. Works offline. The
// rows are built once per change of the list; typing only hides and shows them.
import * as store from '../db.js';
import { entityForms, HOUSEHOLDS, localList } from './caselist.js';
import { DUE_WITHIN, householdOrder, localDay } from './entities.js';
import { ago, choose, h } from './util.js';

export const RISK = { low: '低', medium: '中', high: '高', serious: '重大隐患' };
export const STATUS = { open: '待跟进', following: '跟进中', paired: '结对帮扶', closed: '已结案' };

// { total, overdue, due } for the home screen's entry.
export function dueCounts(rows, today = localDay()) {
  const order = householdOrder(rows, today);
  return {
    total: order.length,
    overdue: order.filter((x) => x.due.state === 'overdue').length,
    due: order.filter((x) => x.due.state === 'due').length,
  };
}

function shortDate(iso, today) {
  const [y, m, d] = iso.split('-').map(Number);
  return `${y === Number(today.slice(0, 4)) ? '' : `${y}年`}${m}月${d}日`;
}

function dueText({ state, days }, iso, today) {
  if (state === 'none') return '未定下次走访';
  const when = `下次走访 ${shortDate(iso, today)}`;
  if (state === 'overdue') return `${when}（已逾期 ${-days} 天）`;
  if (state === 'due') return `${when}（${days === 0 ? '今天' : days === 1 ? '明天' : `${days} 天后`}）`;
  return when;
}

// Open form `forms[0]`, or let the worker pick when there are several (also 待办's).
export async function openOne(forms, question, hash) {
  let form = forms[0];
  if (forms.length > 1) {
    const id = await choose(question, [
      ...forms.map((f) => ({ text: f.title, value: f.form_id, class: 'primary' })),
      { text: '取消', value: null },
    ]);
    form = forms.find((f) => f.form_id === id);
  }
  if (form) location.hash = hash(form);
}

export async function showHouseholds(container, { owner }) {
  const search = h('input', {
    type: 'search', id: 'household-search', class: 'household-search', placeholder: '搜索户名',
    'aria-label': '搜索户名', autocomplete: 'off',
  });
  const updated = h('p', { class: 'list-updated', id: 'households-updated' });
  const register = h('button', { type: 'button', class: 'primary', id: 'register-household' }, '＋ 登记新家庭');
  const body = h('div', { id: 'households' });
  const none = h('p', { class: 'empty', hidden: true }, '没有找到这个名字的家庭。');
  container.replaceChildren(
    h('div', { class: 'fill-top' }, h('a', { href: '#/', class: 'back-link' }, '← 返回'), h('span', { class: 'fill-title' }, '我的家庭')),
    updated, register, search, none, body);

  let items = []; // [{ li, text }] of the rendered rows
  let sections = [];
  function filter() {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const it of items) {
      it.li.hidden = !!q && !it.text.includes(q);
      if (!it.li.hidden) shown += 1;
    }
    for (const s of sections) s.hidden = ![...s.querySelectorAll('li')].some((li) => !li.hidden);
    none.hidden = !q || shown > 0;
  }
  search.addEventListener('input', filter);

  async function render() {
    const [{ rows, fetchedAt, local }, forms] = await Promise.all([localList(owner, HOUSEHOLDS), store.listForms(owner)]);
    const { update, create } = entityForms(forms, HOUSEHOLDS);
    register.hidden = !create.length;
    register.onclick = () => openOne(create, '用哪份问卷登记？', (f) => `#/new/${encodeURIComponent(f.form_id)}`);
    updated.textContent = (fetchedAt ? `家庭列表更新：${ago(fetchedAt)}` : '还没有从服务器下载家庭列表，联网后会自动下载。')
      + (local ? ` · ${local} 户有本机未发送的记录` : '');

    const today = localDay();
    const order = householdOrder(rows, today);
    items = order.map(({ row, due }) => {
      const risk = RISK[row.risk_level];
      const li = h('li', { class: `household due-${due.state}`, dataset: { id: row.name, version: row.__version } },
        h('div', { class: 'household-info' },
          h('div', { class: 'household-head' },
            h('span', { class: 'household-label' }, row.label || row.name),
            risk ? h('span', { class: `risk risk-${row.risk_level}` }, risk) : null),
          h('div', { class: 'household-meta' },
            h('span', { class: 'household-status' }, STATUS[row.case_status] || STATUS.open),
            ' · ',
            h('span', { class: 'household-due' }, dueText(due, String(row.next_visit_date || '').slice(0, 10), today))),
          row.__local ? h('div', { class: 'household-local' }, row.__local === 'created' ? '本机新登记，尚未发送' : '有本机未发送的走访') : null),
        update.length ? h('button', {
          type: 'button', class: 'visit',
          onclick: () => openOne(update, '用哪份问卷记录走访？',
            (f) => `#/new/${encodeURIComponent(f.form_id)}?entity=${encodeURIComponent(row.name)}`),
        }, '记录走访') : null);
      return { li, text: String(row.label || row.name).toLowerCase(), state: due.state };
    });
    const soon = items.filter((i) => i.state === 'overdue' || i.state === 'due');
    const rest = items.filter((i) => i.state !== 'overdue' && i.state !== 'due');
    sections = [];
    const section = (title, list, id) => {
      if (!list.length) return null;
      const s = h('section', { class: 'household-section', id },
        h('h2', {}, title), h('ul', { class: 'household-list' }, list.map((i) => i.li)));
      sections.push(s);
      return s;
    };
    if (!items.length) {
      body.replaceChildren(h('p', { class: 'empty' }, create.length
        ? '还没有您跟进的家庭。排查发现问题家庭并登记后，会出现在这里。'
        : '还没有您跟进的家庭。'));
    } else {
      body.replaceChildren(...[
        section(`需要走访（${soon.length}）`, soon, 'households-due'),
        section(soon.length ? `其他家庭（${rest.length}）` : `全部家庭（${rest.length}）`, rest, 'households-rest'),
      ].filter(Boolean));
    }
    filter();
  }

  await render();
  return { dispose: async () => {}, refresh: render };
}

// The home screen's entry: how many households, how many overdue and due soon.
export function householdsEntry(counts) {
  const parts = [];
  if (counts.overdue) parts.push(h('span', { class: 'overdue' }, `逾期 ${counts.overdue} 户`));
  if (counts.due) parts.push(h('span', { class: 'due' }, `${DUE_WITHIN} 天内走访 ${counts.due} 户`));
  if (!parts.length) parts.push(h('span', {}, counts.total ? '近期没有到期的走访' : '还没有家庭'));
  return h('a', { class: 'households-entry', href: '#/households', id: 'households-entry' },
    h('span', { class: 'entry-title' }, '我的家庭', h('b', { class: 'entry-count' }, ` ${counts.total} 户`)),
    h('span', { class: 'entry-due' }, ...parts.flatMap((p, i) => (i ? [' · ', p] : [p]))),
    h('span', { class: 'entry-go', 'aria-hidden': 'true' }, '›'));
}
