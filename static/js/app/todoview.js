// 待办 (#/todo, issue 13): what the person has to do today, from what the phone holds
// (todostate.js / todo.js), so it is right with no network: households overdue, due today
// and tomorrow (记录走访 opens the visit form with the household chosen), report periods
// with nothing filed (→ the report card on the home screen, with its zero report), and
// households newly assigned (记录走访, or 知道了). Also the home screen's entry with the count.
import * as store from '../db.js';
import { entityForms, HOUSEHOLDS } from './caselist.js';
import { openOne } from './households.js';
import { shortDay, STATUS_TEXT } from './reports.js';
import { householdOpened, loadTodo } from './todostate.js';
import { todoCount, todoCounts } from './todo.js';
import { ago, h } from './util.js';

const DAY = 86400e3;
const daysFrom = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / DAY);

const TITLES = {
  overdue: '走访已逾期',
  due_today: '今天要走访',
  due_tomorrow: '明天要走访',
  assigned: '新分配给您的家庭',
};

function householdLine(row, kind, today, { update, owner, onChanged }) {
  const next = String(row.next_visit_date || '').slice(0, 10);
  let when = '';
  if (kind === 'overdue') when = `应于 ${shortDay(next, today)} 走访，已逾期 ${daysFrom(next, today)} 天`;
  else if (kind === 'assigned') when = next ? `下次走访 ${shortDay(next, today)}` : '未定下次走访';
  const actions = [];
  if (update.length) {
    actions.push(h('button', {
      type: 'button', class: 'visit',
      // Opening the visit form marks it opened (router.js), not a cancelled choice.
      onclick: () => openOne(update, '用哪份问卷记录走访？', (f) => `#/new/${encodeURIComponent(f.form_id)}?entity=${encodeURIComponent(row.name)}`),
    }, '记录走访'));
  }
  if (kind === 'assigned') {
    actions.push(h('button', {
      type: 'button', class: 'seen-ok',
      onclick: async () => { await householdOpened(owner, row.name); onChanged(); },
    }, '知道了'));
  }
  return h('li', { class: `todo-household todo-${kind}`, dataset: { id: row.name } },
    h('div', { class: 'todo-info' },
      h('span', { class: 'household-label' }, row.label || row.name),
      when ? h('span', { class: 'todo-when' }, when) : null,
      row.__local ? h('span', { class: 'household-local' }, row.__local === 'created' ? '本机新登记，尚未发送' : '有本机未发送的走访') : null),
    actions.length ? h('div', { class: 'todo-actions' }, actions) : null);
}

function reportLine(item, today) {
  const when = item.status === 'missing'
    ? `截止 ${shortDay(item.deadline, today)}，已过截止，仍可补报`
    : `截止 ${shortDay(item.deadline, today)}${item.deadline === today ? '（今天截止）' : `（还有 ${daysFrom(today, item.deadline)} 天）`}`;
  return h('li', { class: `todo-report status-${item.status}`, dataset: { report: item.report_id, period: item.period, status: item.status } },
    h('a', { class: 'todo-report-link', href: `#/report/${encodeURIComponent(item.report_id)}` },
      h('span', { class: 'todo-info' },
        h('span', { class: 'todo-report-name' }, `${item.name} · ${item.label}`),
        h('span', { class: `st st-${item.status}` }, STATUS_TEXT[item.status]),
        h('span', { class: 'todo-when' }, when)),
      h('span', { class: 'entry-go', 'aria-hidden': 'true' }, '›')));
}

export async function showTodo(container, { owner }) {
  const body = h('div', { id: 'todo' });
  container.replaceChildren(
    h('div', { class: 'fill-top' }, h('a', { href: '#/', class: 'back-link' }, '← 返回'), h('span', { class: 'fill-title' }, '待办')),
    body);

  async function render() {
    const [{ items, fetchedAt, today }, forms, reports] = await Promise.all([
      loadTodo(owner), store.listForms(owner), store.getReports(owner),
    ]);
    const { update } = entityForms(forms, HOUSEHOLDS);
    const parts = [h('p', { class: 'list-updated', id: 'todo-updated' },
      `根据本机保存的数据，没有网络也能看。家庭列表更新：${fetchedAt ? ago(fetchedAt) : '还没有下载'}`
      + (reports ? ` · 报告状态更新：${ago(reports.fetchedAt)}` : ''))];
    const n = todoCount(items);
    parts.push(h('p', { class: `todo-total${n ? '' : ' todo-none'}`, id: 'todo-total', dataset: { count: n } },
      n ? `今天有 ${n} 项待办` : '今天没有待办事项。'));
    for (const kind of ['overdue', 'due_today']) {
      const item = items.find((i) => i.kind === kind);
      if (!item) continue;
      parts.push(h('section', { class: `todo-section todo-section-${kind}`, id: `todo-${kind}`, dataset: { count: item.count } },
        h('h2', {}, `${TITLES[kind]}（${item.count} 户）`),
        h('ul', { class: 'todo-list' }, item.rows.map((r) => householdLine(r, kind, today, { update, owner, onChanged: render })))));
    }
    const reportItems = items.filter((i) => i.kind === 'report');
    if (reportItems.length) {
      parts.push(h('section', { class: 'todo-section todo-section-report', id: 'todo-report', dataset: { count: reportItems.length } },
        h('h2', {}, `报告未报（${reportItems.length} 期）`),
        h('ul', { class: 'todo-list' }, reportItems.map((i) => reportLine(i, today)))));
    }
    for (const kind of ['assigned', 'due_tomorrow']) {
      const item = items.find((i) => i.kind === kind);
      if (!item) continue;
      parts.push(h('section', { class: `todo-section todo-section-${kind}`, id: `todo-${kind}`, dataset: { count: item.count } },
        h('h2', {}, `${TITLES[kind]}（${item.count} 户）`),
        h('ul', { class: 'todo-list' }, item.rows.map((r) => householdLine(r, kind, today, { update, owner, onChanged: render })))));
    }
    parts.push(h('p', { class: 'todo-more' },
      h('a', { href: '#/households' }, '全部家庭 ›'), ' ',
      h('a', { href: '#/reminders', id: 'reminders-link' }, '提醒设置 ›')));
    body.replaceChildren(...parts);
  }

  await render();
  return { dispose: async () => {}, refresh: render };
}

// The home screen's entry: 待办 with the count and what it is made of.
export function todoEntry(items) {
  const n = todoCount(items);
  const c = todoCounts(items);
  const parts = [];
  if (c.overdue) parts.push(h('span', { class: 'overdue' }, `逾期 ${c.overdue} 户`));
  if (c.due_today) parts.push(h('span', { class: 'due' }, `今天 ${c.due_today} 户`));
  if (c.report) parts.push(h('span', { class: 'due' }, `报告 ${c.report} 期`));
  if (c.assigned) parts.push(h('span', { class: 'due' }, `新分配 ${c.assigned} 户`));
  if (!parts.length) parts.push(h('span', {}, c.due_tomorrow ? `明天走访 ${c.due_tomorrow} 户` : '今天没有待办'));
  return h('a', { class: `households-entry todo-entry${n ? ' has-todo' : ''}`, href: '#/todo', id: 'todo-entry', dataset: { count: n } },
    h('span', { class: 'entry-title' }, '待办', h('b', { class: 'entry-count todo-count' }, ` ${n} 项`)),
    h('span', { class: 'entry-due' }, ...parts.flatMap((p, i) => (i ? [' · ', p] : [p]))),
    h('span', { class: 'entry-go', 'aria-hidden': 'true' }, '›'));
}
