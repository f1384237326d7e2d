// The screens, by the URL's hash: #/ home (#/report/<id>: at that report's card), #/todo
// (待办, todoview.js), #/reminders (提醒设置, reminders.js), #/households (我的家庭), #/new/<form_id>
// (?entity=<id>: for that household), #/draft/<instanceID>, #/correct/<instanceID> (a
// sent record fetched to correct: opened as a draft, correct.js); before anyone has logged in
// on this phone, the first-run card. Leaving a screen disposes of it (the fill view saves
// its draft). The fill view, and the form engine with it, is loaded only when a form is
// opened: the home screen does not need it. On a fill route (a reload of #/new/<form_id>,
// issue 12's warm open) that code starts loading at once, while the session is still
// being read (preloadFill), and a new questionnaire's engine instance starts as soon as
// the form's XML is read from IndexedDB (prepareNew), before the fill view asks for it.
import * as store from '../db.js';
import { registerBackgroundSync } from './autosync.js';
import { openCorrection } from './correct.js';
import { renderHome } from './home.js';
import { showHouseholds } from './households.js';
import { paintDraftCopy, paintEarly, paintSnapshot, takeEarly } from './snapshot.js';
import { householdOpened } from './todostate.js';
import { h } from './util.js';

function parseRoute() {
  if (/^#\/households\/?$/.test(location.hash)) return { kind: 'households' };
  if (/^#\/todo\/?$/.test(location.hash)) return { kind: 'todo' };
  if (/^#\/reminders\/?$/.test(location.hash)) return { kind: 'reminders' };
  const rep = /^#\/report\/([^/?]+)$/.exec(location.hash); // the home screen, at that report's card
  if (rep) return { kind: 'home', report: decodeURIComponent(rep[1]) };
  const c = /^#\/correct\/([^?]+)$/.exec(location.hash);
  if (c) return { kind: 'correct', id: decodeURIComponent(c[1]) };
  const m = /^#\/(new|draft)\/([^?]+)(?:\?(.*))?$/.exec(location.hash);
  if (m) {
    const entity = new URLSearchParams(m[3] || '').get('entity');
    return { kind: m[1], id: decodeURIComponent(m[2]), entity: m[1] === 'new' && entity ? entity : null };
  }
  return { kind: 'home' };
}

// The fill view's code (and the engine with it): one import, started early on fill routes.
let fillCode = null;
function loadFill() {
  if (!fillCode) fillCode = import('./fillview.js').catch((err) => { fillCode = null; throw err; });
  return fillCode;
}

// Whether the URL opens the fill view (a new questionnaire or a draft).
export function isFillRoute() {
  const kind = parseRoute().kind;
  return kind === 'new' || kind === 'draft';
}

// At start-up, before anything is read: on a fill route, fetch and run the fill view's code
// now (in parallel with the IndexedDB reads of the session) rather than after them.
export function preloadFill() {
  if (isFillRoute()) loadFill().catch(() => {}); // route() reports a failure
}

// At start-up on #/new/<form_id> (not a household's visit): the form's first screen as
// mirrored in localStorage, painted before anything is read (snapshot.js's paintEarly);
// the first route() takes it, or drops it.
let early = null;
export function paintEarlyCopy(viewEl) {
  const r = parseRoute();
  if (r.kind !== 'new' || r.entity) return;
  early = paintEarly(viewEl, r.id);
  // The form's record too, for the same person (the route checks it is theirs).
  if (early) early.formRead = store.currentForm(early.owner, r.id).catch(() => null);
}

const opening = () => h('p', { class: 'form-status' }, '正在打开问卷…');

// Opening a new questionnaire: its engine instance (form/engine.js's prepareForm) starts
// as soon as its XML is read, while the fill view's code loads (and, at start-up, while
// the rest of the app starts); the fill view's openForm takes it. Not for a household's visit (#/new/<id>?entity=: its
// list is the person's own, read by the fill view) nor for forms with attachments
// (prepareForm leaves those to the fill view's own reading of them).
async function prepareNew(formRead, formId) {
  try {
    const [rec, engine] = await Promise.all([formRead, import('../form/engine.js')]);
    if (rec && parseRoute().id === formId) engine.prepareForm(rec.xml);
  } catch (err) {
    console.warn('fieldapp: form not prepared', err); // the fill view opens it as usual
  }
}

export function createRouter({ state, viewEl, loginUrl, sync, storage }) {
  async function route() {
    const token = ++state.routeToken;
    const earlyCopy = early;
    early = null;
    if (state.view) {
      const old = state.view;
      state.view = null;
      try { await old.dispose(); } catch (err) { console.error(err); }
    }
    const dropEarly = () => { if (earlyCopy) earlyCopy.painted.then((p) => p.dispose(), () => {}); };
    if (token !== state.routeToken) { dropEarly(); return; }
    if (!state.user) {
      dropEarly();
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
    const useEarly = earlyCopy && r.kind === 'new' && !r.entity && r.id === earlyCopy.formId;
    if (!useEarly) dropEarly();
    document.body.classList.toggle('filling', r.kind === 'new' || r.kind === 'draft');
    window.scrollTo(0, 0); // a new screen starts at its top, not where the long form was left
    if (r.kind === 'home') {
      document.title = '平安家庭';
      // The notice ("已放入发送箱") stays while this home screen does, through its redraws.
      const view = { dispose: async () => {}, home: true, notice: state.notice };
      state.notice = '';
      view.refresh = () => renderHomeNow(view.notice);
      state.view = view;
      await renderHomeNow(view.notice);
      storage.check();
      if (r.report) {
        const card = [...viewEl.querySelectorAll('.report-card')].find((c) => c.dataset.report === r.report);
        if (card) { card.classList.add('report-focus'); card.scrollIntoView({ block: 'start' }); }
      }
      return;
    }
    if (r.kind === 'todo' || r.kind === 'reminders') {
      document.title = r.kind === 'todo' ? '待办 · 平安家庭' : '提醒设置 · 平安家庭';
      const v = r.kind === 'todo'
        ? await (await import('./todoview.js')).showTodo(viewEl, { owner })
        : await (await import('./reminders.js')).showReminders(viewEl, { owner, user: state.user });
      if (token !== state.routeToken) { v.dispose(); return; }
      state.view = v;
      return;
    }
    if (r.kind === 'households') {
      document.title = '我的家庭 · 平安家庭';
      const v = await showHouseholds(viewEl, { owner });
      if (token !== state.routeToken) { v.dispose(); return; }
      state.view = v;
      return;
    }
    if (r.kind === 'correct') {
      viewEl.replaceChildren(h('p', { class: 'form-status' }, '正在从服务器取回这份问卷…'));
      const got = await openCorrection(owner, r.id);
      if (token !== state.routeToken) return;
      if (got.error) {
        state.notice = got.error;
        location.replace('#/');
      } else {
        location.replace(`#/draft/${encodeURIComponent(got.draftId)}`);
      }
      return;
    }
    if (!useEarly) viewEl.replaceChildren(opening());
    if (r.entity) await householdOpened(owner, r.entity); // no longer 新分配 (待办)
    // A new questionnaire (not a household's visit: its list is the person's own, read by
    // the fill view): the form's record is read once, here, for both.
    performance.mark('fieldapp:route');
    let formRead = null;
    if (r.kind === 'new' && !r.entity) {
      formRead = useEarly && earlyCopy.owner === owner ? earlyCopy.formRead : store.currentForm(owner, r.id).catch(() => null);
    }
    // The form's kept first screen (snapshot.js), painted as soon as it is read, before
    // the fill view's code and the engine are ready; the fill view takes it over. The
    // engine starts once that screen is painted.
    const stillWanted = () => token === state.routeToken;
    let provisional = Promise.resolve(null);
    if (useEarly) {
      provisional = takeEarly(earlyCopy, { viewEl, owner, formRead, route: r, placeholder: opening }).catch(() => null);
    } else if (formRead) {
      provisional = paintSnapshot(viewEl, owner, r.id, formRead, r, stillWanted).catch(() => null);
    }
    // A draft, likewise: read once, for its copy and the fill view.
    const draftRead = r.kind === 'draft' ? store.getDraft(owner, r.id) : null;
    if (draftRead) {
      draftRead.catch(() => {}); // the fill view reports a failure
      provisional = paintDraftCopy(viewEl, draftRead, stillWanted).catch(() => null);
    }
    const prepared = formRead ? prepareNew(provisional.then(() => formRead), r.id) : null;
    let v;
    try {
      const { showFill } = await loadFill();
      // Another screen came first: done, unless something was typed in the form's kept
      // first screen meanwhile, which the fill view then keeps in a draft (off screen).
      if (token !== state.routeToken && !(await provisional.then((p) => p && p.touched()))) return;
      v = await showFill(viewEl, {
        owner, route: r, provisional, formRead, draftRead, prepared,
        onFinalized: () => { sync({ force: true, forms: false }); registerBackgroundSync(); },
        setNotice: (text) => { state.notice = text; },
      });
    } finally {
      // An instance the fill view did not take (it failed, or another route came first)
      // is never used later: its `start` time would be this moment's.
      if (prepared) await prepared.then(() => import('../form/engine.js')).then((e) => e.dropPrepared(), () => {});
    }
    if (token !== state.routeToken) { v.dispose(); return; }
    state.view = v;
  }

  async function renderHomeNow(notice = '') {
    const view = state.view;
    if (!state.user || !view || !view.home) return;
    // Drawn aside and put in place only if the home screen is still the one shown: a
    // redraw that started just before a tap on a form must not cover the form.
    const drawn = h('div');
    await renderHome(drawn, {
      owner: state.user.username, notice, onSyncNow: () => sync({ force: true }),
      corrections: state.user.corrections,
      // A zero report filed from a report card: say so on this home screen, send it.
      onQueued: (text) => {
        view.notice = text;
        view.refresh();
        sync({ force: true, forms: false });
        registerBackgroundSync();
      },
    });
    if (state.view !== view) return;
    viewEl.replaceChildren(...drawn.childNodes);
    storage.el.remove();
    viewEl.prepend(storage.el);
  }

  // Many changes at once (a sync round) redraw the home screen (or 我的家庭) once.
  let homeQueued = false;
  function refreshHomeSoon() {
    if (homeQueued) return;
    homeQueued = true;
    setTimeout(() => {
      homeQueued = false;
      if (state.view && state.view.refresh) state.view.refresh();
    }, 100);
  }

  return { route, refreshHomeSoon };
}
