// POST one instance to an OpenRosa /submission endpoint, the way ODK Collect does:
// multipart/form-data with the XML as part `xml_submission_file`.
// Returns { ok: true } or { ok: false, message } with a message fit for the worker;
// never throws, so the caller can always keep the answers on the page.
import { t } from './i18n.js';

export async function submitInstance(url, xml, { files = [], retried = false } = {}) {
  const body = new FormData();
  body.append('xml_submission_file', new Blob([xml], { type: 'text/xml' }), 'submission.xml');
  for (const f of files) body.append(f.name, f, f.name); // photos, named as in the XML
  const csrf = document.querySelector('meta[name="csrf-token"]');
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      // 'manual': a redirect here can only be the login page of an expired session.
      redirect: 'manual',
      headers: { 'X-OpenRosa-Version': '1.0', 'X-CSRFToken': csrf ? csrf.content : '' },
    });
  } catch {
    return { ok: false, message: t('网络不通，答案仍在本页，请稍后再提交') };
  }
  if ([200, 201, 202].includes(res.status)) return { ok: true };
  // The worker logged in again elsewhere: this page's CSRF token is stale. Fetch a fresh
  // one and send once more, instead of asking for a reload that would lose the answers.
  if (res.headers.get('X-Fieldapp-CSRF') === 'invalid' && !retried && csrf) {
    const fresh = await freshToken();
    if (fresh) {
      csrf.content = fresh;
      return submitInstance(url, xml, { files, retried: true });
    }
  }
  if (res.type === 'opaqueredirect' || res.status === 401 || (res.status >= 300 && res.status < 400)) {
    return { ok: false, message: t('登录已过期，请在新窗口重新登录后再提交') };
  }
  let text = '';
  try { text = openRosaMessage(await res.text()); } catch { /* body unreadable: generic text */ }
  return { ok: false, message: text || t('提交失败（HTTP {status}）', { status: res.status }) };
}

// <OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="error">TEXT</message>
function openRosaMessage(body) {
  if (!body || !body.includes('<')) return '';
  const doc = new DOMParser().parseFromString(body, 'text/xml');
  const msg = doc.getElementsByTagNameNS('*', 'message')[0] || doc.getElementsByTagName('message')[0];
  return msg ? msg.textContent.trim() : '';
}

async function freshToken() {
  try {
    const res = await fetch('/csrf-token', { credentials: 'same-origin', redirect: 'manual' });
    return res.ok ? (await res.json()).token : '';
  } catch {
    return '';
  }
}
