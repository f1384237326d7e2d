// 提醒设置 (#/reminders, issue 13): what THIS phone can do, said plainly (notifications?
// push? a background service? periodic background sync? the permission; an address
// without https), and when it cannot receive push, that 待办 is where reminders will be;
// push on (an explanation first, then the browser's question) and off; which reminders
// and the quiet hours (the server keeps them: online only, the last ones shown offline).
import {
  capabilities, currentSubscription, loadPreferences, periodicState, PushError, registerPeriodicRefresh,
  savePreferences, turnOff, turnOn,
} from './push.js';
import { choose, h } from './util.js';

const PERMISSION = { granted: '已允许', denied: '已拒绝', default: '还没有询问' };
const KINDS = [
  ['visits', '走访提醒', '明天要走访和已逾期的家庭，每天一条汇总'],
  ['report', '报告截止提醒', '报告快到截止、还没有报告或零报告时'],
  ['assigned', '新分配家庭提醒', '有家庭新分配给您时'],
  ['digest', '督导每日汇总', '辖区内逾期走访和未报告的单位（督导）'],
];
const SUPERVISING = ['supervisor', 'admin'];

function line(ok, title, text) {
  return h('li', { class: `cap cap-${ok === true ? 'yes' : ok === false ? 'no' : 'maybe'}` },
    h('span', { class: 'cap-mark', 'aria-hidden': 'true' }, ok === true ? '✓' : ok === false ? '✗' : '?'),
    h('span', { class: 'cap-text' }, h('b', {}, title), ' ', text));
}

// The plain verdict: { push: can receive push, text }.
export function verdict(cap, subscribed) {
  if (!cap.secure) {
    return { push: false, text: '这个地址不是 https 开头，浏览器不允许在这里发通知或推送。提醒会显示在“待办”里：每次打开应用都能看到，没有网络也能看。' };
  }
  if (!cap.sw || !cap.notification || !cap.push) {
    return { push: false, text: '这部手机的浏览器收不到推送提醒。提醒会显示在“待办”里：每次打开应用都能看到，没有网络也能看。' };
  }
  if (cap.permission === 'denied') {
    return { push: false, text: '您已拒绝本网站的通知，所以收不到推送提醒。提醒会显示在“待办”里。如需推送，请在浏览器的“网站设置 → 通知”里允许本网站。' };
  }
  if (subscribed) return { push: true, text: '这部手机已开启推送提醒：即使没有打开应用，也会在通知栏提醒您。通知里只有数字，没有姓名。' };
  return { push: null, text: '这部手机的浏览器支持推送提醒，但还没有开启。开启后，没有打开应用也能收到提醒（需要手机能连上推送服务；有些手机没有谷歌服务，会连不上）。无论是否开启，“待办”里都能看到所有提醒。' };
}

export async function showReminders(container, { owner, user }) {
  const capsEl = h('ul', { class: 'caps', id: 'reminder-caps' });
  const verdictEl = h('p', { class: 'reminder-verdict', id: 'reminder-verdict' });
  const pushBtn = h('button', { type: 'button', class: 'primary', id: 'push-toggle' }, '开启推送提醒');
  const pushMsg = h('p', { class: 'reminder-msg', id: 'push-msg', role: 'status', hidden: true });
  const prefsBox = h('div', { id: 'reminder-prefs' });
  container.replaceChildren(
    h('div', { class: 'fill-top' }, h('a', { href: '#/todo', class: 'back-link' }, '← 待办'), h('span', { class: 'fill-title' }, '提醒设置')),
    h('section', { class: 'reminder-card' },
      h('h2', {}, '这部手机能收到什么提醒'), verdictEl, capsEl,
      h('p', { class: 'reminder-todo' }, h('a', { href: '#/todo' }, '打开待办 ›'))),
    h('section', { class: 'reminder-card' },
      h('h2', {}, '推送提醒'),
      h('p', { class: 'reminder-help' }, '推送提醒会在通知栏显示，例如“您有3户今日待走访”。通知里只有数字，不会显示姓名、地址等个人信息，锁屏时别人也看不到。点通知会打开待办。'),
      pushBtn, pushMsg),
    h('section', { class: 'reminder-card' }, h('h2', {}, '提醒哪些事'), prefsBox));

  let subscribed = false;
  let busy = false;

  async function drawCaps() {
    const cap = capabilities();
    const [sub, periodic] = await Promise.all([cap.push && cap.secure ? currentSubscription() : null, periodicState()]);
    subscribed = !!sub;
    const v = verdict(cap, subscribed);
    verdictEl.textContent = v.text;
    verdictEl.className = `reminder-verdict verdict-${v.push === true ? 'yes' : v.push === false ? 'no' : 'maybe'}`;
    verdictEl.dataset.push = v.push === true ? 'yes' : v.push === false ? 'no' : 'maybe';
    capsEl.replaceChildren(
      line(cap.secure, '安全连接（https）：', cap.secure ? '是' : '不是，浏览器不允许通知和推送'),
      line(cap.sw, '后台服务：', cap.sw ? '有' : '没有，无法离线使用和接收推送'),
      line(cap.notification && cap.permission !== 'denied', '通知：', cap.notification ? `支持，权限${PERMISSION[cap.permission] || cap.permission}` : '这个浏览器不支持'),
      line(cap.push, '推送：', cap.push ? (subscribed ? '支持，本机已开启' : '支持，本机未开启') : '这个浏览器不支持'),
      line(periodic === 'on' ? true : periodic === 'unsupported' ? false : null, '后台定时刷新：',
        periodic === 'on' ? '已开启，每天自动检查一次待办（不需要推送服务）'
          : periodic === 'unsupported' ? '这个浏览器不支持（把应用添加到主屏幕后，部分手机支持）'
            : '支持，允许通知并把应用添加到主屏幕后开启'));
    capsEl.dataset.permission = cap.permission || 'none';
    const can = cap.secure && cap.sw && cap.notification && cap.push && cap.permission !== 'denied';
    pushBtn.textContent = subscribed ? '关闭推送提醒' : '开启推送提醒';
    pushBtn.className = subscribed ? '' : 'primary';
    pushBtn.dataset.state = subscribed ? 'on' : 'off';
    pushBtn.disabled = busy || (!subscribed && !can);
  }

  function say(text, kind = 'info') {
    pushMsg.textContent = text;
    pushMsg.className = `reminder-msg msg-${kind}`;
    pushMsg.hidden = !text;
  }

  pushBtn.addEventListener('click', async () => {
    if (busy) return;
    if (!subscribed) {
      const ok = await choose(
        '开启推送提醒\n\n'
        + '开启后，即使没有打开应用，手机也会在通知栏提醒您：今天要走访几户、几户已逾期、报告快到截止、有新分配的家庭。\n'
        + '通知里只有数字，不会显示姓名或地址。\n\n'
        + '接下来浏览器会问您是否允许本网站发通知，请点“允许”。',
        [{ text: '继续', value: true, class: 'primary' }, { text: '暂不开启', value: null }]);
      if (!ok) return;
    }
    busy = true;
    pushBtn.disabled = true;
    try {
      if (subscribed) {
        say('正在关闭…');
        const { told } = await turnOff();
        say(told ? '已关闭推送提醒。提醒仍会显示在“待办”里。'
          : '本机已不再接收推送。服务器暂时连不上，联网后再点一次“开启”或“关闭”即可同步。', told ? 'ok' : 'warn');
      } else {
        await turnOn((text) => say(text));
        say('推送提醒已开启。以后每天会在通知栏提醒您（免打扰时段除外）。', 'ok');
      }
    } catch (err) {
      console.warn('fieldapp: push', err);
      say(err instanceof PushError ? err.message : `没有成功：${err && err.message ? err.message : err}`, 'error');
    } finally {
      busy = false;
      await drawCaps();
    }
  });

  async function drawPrefs() {
    prefsBox.replaceChildren(h('p', { class: 'muted' }, '正在读取…'));
    const { prefs, offline, error } = await loadPreferences(owner);
    const parts = [];
    if (offline) {
      parts.push(h('p', { class: 'reminder-msg msg-warn', id: 'prefs-offline' }, prefs
        ? `需要联网才能修改提醒设置。下面是上次的设置。${error ? `（${error}）` : ''}`
        : `需要联网才能读取和修改提醒设置。${error ? `（${error}）` : ''}`));
    }
    if (!prefs) { prefsBox.replaceChildren(...parts); return; }
    const boxes = {};
    const kinds = KINDS.filter(([k]) => k !== 'digest' || SUPERVISING.includes(user && user.role));
    parts.push(h('ul', { class: 'kinds' }, kinds.map(([k, title, help]) => {
      boxes[k] = h('input', { type: 'checkbox', name: `kind-${k}`, id: `kind-${k}`, checked: !!(prefs.kinds && prefs.kinds[k]), disabled: offline });
      return h('li', {}, h('label', { for: `kind-${k}`, class: 'kind' }, boxes[k],
        h('span', {}, h('b', {}, title), h('span', { class: 'kind-help' }, help))));
    })));
    const start = h('input', { type: 'time', id: 'quiet-start', value: prefs.quiet_start || '', disabled: offline });
    const end = h('input', { type: 'time', id: 'quiet-end', value: prefs.quiet_end || '', disabled: offline });
    parts.push(h('fieldset', { class: 'quiet' },
      h('legend', {}, '免打扰时段'),
      h('p', { class: 'kind-help' }, '这段时间内不推送，到时间后再提醒。起止时间相同：不设免打扰。'),
      h('div', { class: 'quiet-row' }, h('label', { for: 'quiet-start' }, '从'), start, h('label', { for: 'quiet-end' }, '到'), end)));
    if (typeof prefs.devices === 'number') {
      parts.push(h('p', { class: 'kind-help', id: 'devices' }, `您有 ${prefs.devices} 部手机开启了推送提醒。`));
    }
    const msg = h('p', { class: 'reminder-msg', id: 'prefs-msg', role: 'status', hidden: true });
    const save = h('button', { type: 'button', class: 'primary', id: 'prefs-save', disabled: offline }, '保存设置');
    save.addEventListener('click', async () => {
      save.disabled = true;
      msg.hidden = true;
      const next = {
        kinds: { ...(prefs.kinds || {}), ...Object.fromEntries(Object.entries(boxes).map(([k, b]) => [k, b.checked])) },
        quiet_start: start.value, quiet_end: end.value,
      };
      try {
        const stored = await savePreferences(owner, next);
        Object.assign(prefs, stored);
        msg.textContent = '已保存。';
        msg.className = 'reminder-msg msg-ok';
      } catch (err) {
        msg.textContent = err.message;
        msg.className = 'reminder-msg msg-error';
      }
      msg.hidden = false;
      save.disabled = false;
    });
    parts.push(save, msg);
    prefsBox.replaceChildren(...parts);
  }

  await drawCaps();
  drawPrefs();
  // The permission was given earlier (another screen, the browser's settings): keep the
  // daily refresh registered where the phone has it.
  if (capabilities().permission === 'granted') registerPeriodicRefresh().then(drawCaps);
  return { dispose: async () => {} };
}
