// Who uses the app: the name in the top bar, the "请重新登录" box when the login has expired
// (everything stays on the phone and goes out after the next login) or the "修改密码" box
// after a login with a one-time password, the way back to the
// same screen after logging in again, and logging out (warns about unsent work and keeps
// it, per user: a colleague on the same phone sees none of it).
import * as store from '../db.js';
import { fetchCsrfToken } from '../net.js';
import { MEDIA_CACHE, userOf } from '../sync.js';
import { forgetPush } from './push.js';
import { forgetCopies, rememberOwner } from './snapshot.js';
import { forgetTodo } from './todostate.js';
import { choose, h } from './util.js';

const RESUME_KEY = 'fieldapp.resume';

// `onUserChanged()` runs when another person (or the first one) is now the user.
export function createSession({ state, status, loginUrl, onUserChanged }) {
  const userEl = h('span', { class: 'app-user' });
  const logoutBtn = h('button', { type: 'button', id: 'logout-btn', class: 'link-button', onclick: logout }, '退出登录');
  const loginLink = h('a', {
    class: 'button primary', href: loginUrl,
    onclick: () => sessionStorage.setItem(RESUME_KEY, location.hash || '#/'),
  }, '请重新登录');
  const loginText = h('span', { class: 'login-text' });
  const loginBox = h('div', { id: 'login-needed', role: 'alert', hidden: true }, loginText, loginLink);
  let loggingOut = false;

  function showLogin(needed, text) {
    state.loginNeeded = needed;
    loginBox.hidden = !needed;
    loginText.textContent = text || '登录已过期。已填写的问卷都保存在本机，不会丢失；重新登录后会自动发送。';
    loginLink.href = loginUrl;
    loginLink.textContent = '请重新登录';
  }

  // Logged in with a one-time password (new account, or a reset): the server answers
  // nothing else until the person has chosen their own, so send them to that page.
  function showPasswordChange(message, url) {
    showLogin(true, message || '请先修改密码：设置您自己的新密码后才能继续使用。');
    loginLink.href = `${url || '/account/password'}?next=${encodeURIComponent('/app')}`;
    loginLink.textContent = '修改密码';
  }

  async function refreshLoginFlag() {
    if (!state.user) return;
    const flag = await store.getMeta(`loginNeeded:${state.user.username}`);
    if (navigator.onLine !== false) showLogin(!!flag);
  }

  async function adoptUser(me) {
    const user = userOf(me);
    const changed = !state.user || state.user.username !== user.username;
    if (changed || JSON.stringify(state.user) !== JSON.stringify(user)) await store.setCurrentUser(user);
    state.user = user;
    rememberOwner(user.username);
    showUser();
    if (changed) {
      await status.setOwner(user.username);
      onUserChanged();
    }
  }

  function showUser() {
    const u = state.user;
    userEl.textContent = u ? `${u.display_name || u.username}${u.area && u.area.name ? ` · ${u.area.name}` : ''}` : '';
    logoutBtn.hidden = !u;
  }

  // Back from the login page: continue where the worker was.
  function resume() {
    const hash = sessionStorage.getItem(RESUME_KEY);
    if (!hash) return;
    sessionStorage.removeItem(RESUME_KEY);
    if (!location.hash || location.hash === '#/' || location.hash === '#') history.replaceState(null, '', hash);
  }

  async function logout() {
    const owner = state.user && state.user.username;
    if (!owner) return;
    const c = await store.counts(owner);
    const unsent = c.drafts + c.waiting + c.attention;
    let discard = false;
    if (unsent) {
      const choice = await choose(
        `还有 ${unsent} 份未发送的问卷（草稿 ${c.drafts}，待发送 ${c.waiting}，需处理 ${c.attention}）。退出后它们仍保存在本机，您下次登录后可继续填写和发送。`,
        [
          { value: 'keep', text: '退出（保留在本机）', class: 'primary' },
          { value: null, text: '取消' },
          { value: 'discard', text: '删除未发送的问卷并退出', class: 'danger' },
        ]);
      if (!choice) return;
      if (choice === 'discard') {
        if (!window.confirm(`确定删除这 ${unsent} 份未发送的问卷吗？删除后无法恢复，服务器上也没有。`)) return;
        discard = true;
      }
    }
    let token = '';
    try {
      token = (await fetchCsrfToken()) || ''; // none: the session has already ended
    } catch {
      window.alert('需要联网才能退出登录。问卷都保存在本机。');
      return;
    }
    loggingOut = true;
    if (state.view) { await state.view.dispose(); state.view = null; }
    if (discard) await store.discardUnsent(owner);
    // A shared phone: what was sent leaves it (receipts stay), with the person's forms,
    // household lists and form media; unsent work stays, for them only.
    await store.forgetOnLogout(owner);
    forgetCopies(owner); // their forms' first screens mirrored for a quick start (snapshot.js)
    // Their 待办 state and reminder settings, and this device's push (told to the server
    // while the session lasts): the next person on the phone gets no reminder of theirs.
    await forgetTodo(owner);
    await forgetPush(token);
    if (typeof caches !== 'undefined') await caches.delete(MEDIA_CACHE);
    await store.setCurrentUser(null);
    sessionStorage.removeItem(RESUME_KEY);
    if (token) {
      // POST by fetch, not by a form navigation: a navigation also makes the browser re-check
      // /sw.js at the same moment, and that response (with the old session cookie) can undo
      // the logout when it lands last.
      const body = new FormData();
      body.append('csrf_token', token);
      try {
        await fetch('/logout', { method: 'POST', body, credentials: 'same-origin', redirect: 'manual' });
      } catch { /* the login page below tells whether we are still logged in */ }
    }
    location.assign(loginUrl);
  }

  return {
    userEl, logoutBtn, loginBox, showLogin, showPasswordChange, refreshLoginFlag, adoptUser, showUser, resume,
    loggingOut: () => loggingOut,
  };
}
