// The screens, by the URL's hash: #/ home, #/new/<form_id>, #/draft/<instanceID>; before
// anyone has logged in on this phone, the first-run card. Leaving a screen disposes of it
// (the fill view saves its draft). The fill view, and the form engine with it, is loaded
// only when a form is opened: the home screen does not need it.
import { registerBackgroundSync } from './autosync.js';
import { renderHome } from './home.js';
import { h } from './util.js';

function parseRoute() {
  const m = /^#\/(new|draft)\/(.+)$/.exec(location.hash);
  if (m) return { kind: m[1], id: decodeURIComponent(m[2]) };
  return { kind: 'home' };
}

export function createRouter({ state, viewEl, loginUrl, sync, storage }) {
  async function route() {
    const token = ++state.routeToken;
    if (state.view) {
      const old = state.view;
      state.view = null;
      try { await old.dispose(); } catch (err) { console.error(err); }
    }
    if (token !== state.routeToken) return;
    if (!state.user) {
      viewEl.replaceChildren(h('div', { class: 'card first-run' },
        h('h2', {}, '请先登录'),
        h('p', {}, navigator.onLine === false
          ? '第一次使用需要联网登录一次；之后没有网络也能填写问卷。'
          : '登录后，您所在区域的问卷会下载到本机，没有网络也能填写。'),
        h('a', { class: 'button primary', href: loginUrl }, '登录')));
      return;
    }
    const r = parseRoute();
    const owner = state.user.username;
    document.body.classList.toggle('filling', r.kind !== 'home');
    if (r.kind === 'home') {
      document.title = '平安家庭';
      state.view = { dispose: async () => {}, home: true };
      await renderHomeNow();
      storage.check();
      return;
    }
    viewEl.replaceChildren(h('p', { class: 'form-status' }, '正在打开问卷…'));
    const { showFill } = await import('./fillview.js');
    if (token !== state.routeToken) return;
    const v = await showFill(viewEl, {
      owner, route: r,
      onFinalized: () => { sync({ force: true, forms: false }); registerBackgroundSync(); },
      setNotice: (text) => { state.notice = text; },
    });
    if (token !== state.routeToken) { v.dispose(); return; }
    state.view = v;
  }

  async function renderHomeNow() {
    if (!state.user || !state.view || !state.view.home) return;
    const notice = state.notice;
    state.notice = '';
    await renderHome(viewEl, { owner: state.user.username, notice, onSyncNow: () => sync({ force: true }) });
    storage.el.remove();
    viewEl.prepend(storage.el);
  }

  // Many changes at once (a sync round) redraw the home screen once.
  let homeQueued = false;
  function refreshHomeSoon() {
    if (homeQueued) return;
    homeQueued = true;
    setTimeout(() => { homeQueued = false; renderHomeNow(); }, 100);
  }

  return { route, refreshHomeSoon };
}
