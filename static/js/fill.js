// Page entry of the form filler (templates/surveys/fill.html).
// Finds #fieldapp-form, loads the XForm, renders it, and submits the instance to the
// OpenRosa /submission endpoint. Every failure keeps all answers on the page.
import { openForm } from './form/engine.js';
import { renderForm } from './form/renderer.js';
import { setUILanguage, t, uiLanguage } from './i18n.js';
import { fetchCsrfToken, postSubmission } from './net.js';
import { endPaths, nowWithOffset, stampEnd } from './form/preload.js';
import { pickLanguage, problemCounter } from './form/formnav.js';

async function main() {
  const host = document.getElementById('fieldapp-form');
  if (!host) return;
  const cfg = host.dataset;
  setUILanguage(cfg.lang || document.documentElement.lang.slice(0, 2));
  status(host, t('正在加载问卷…'));

  let form;
  let view;
  let ends = [];
  let endStamp = '';
  try {
    const res = await fetch(cfg.xformUrl, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const xformXml = await res.text();
    form = await openForm(xformXml, { mediaBase: cfg.mediaBase || '' });
    ends = endPaths(xformXml);
    pickLanguage(form, uiLanguage());
    view = renderForm(form, host, { mediaBase: cfg.mediaBase || '' });
  } catch (err) {
    console.error(err);
    status(host, t('问卷加载失败：{msg}', { msg: err && err.message ? err.message : String(err) }), true);
    return;
  }

  const bar = document.createElement('div');
  bar.className = 'submit-bar';
  const error = document.createElement('div');
  error.id = 'submit-error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.id = 'submit-btn';
  btn.textContent = t('提交');
  bar.append(error, btn);
  host.after(bar);

  const { showError, ready } = problemCounter(host, view, form, error, t);
  // Until offline drafts exist (IndexedDB), answers live only in this page: warn before
  // the worker navigates away from typed answers.
  let dirty = false;
  const markDirty = () => { dirty = true; };
  host.addEventListener('input', markDirty);
  host.addEventListener('change', markDirty);
  window.addEventListener('beforeunload', (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = '';
  });

  btn.addEventListener('click', async () => {
    if (!ready()) return;
    btn.disabled = true;
    btn.textContent = t('提交中…');
    // One `end` per questionnaire: a second tap after a lost reply must send identical XML,
    // so that the server sees a harmless re-send, not a conflicting one.
    endStamp = endStamp || nowWithOffset();
    const { xml, files } = form.payload();
    const result = await submitInstance(cfg.submitUrl, stampEnd(xml, ends, endStamp), { files });
    if (result.ok) {
      btn.textContent = t('已提交');
      showError('');
      bar.classList.add('submitted');
      dirty = false;
      const done = new URL(cfg.doneUrl, location.href);
      done.searchParams.set('sent', cfg.formId || '1');
      location.assign(done.href);
      return;
    }
    btn.disabled = false;
    btn.textContent = t('提交');
    showError(result.message);
  });
}

function status(host, text, isError = false) {
  const p = document.createElement('p');
  p.className = isError ? 'form-status form-status-error' : 'form-status';
  if (isError) p.setAttribute('role', 'alert');
  p.textContent = text;
  host.replaceChildren(p);
}

// POST the instance to the OpenRosa /submission endpoint. Resolves to { ok: true } or
// { ok: false, message } with a message fit for the worker; never throws, so the caller
// can always keep the answers on the page.
async function submitInstance(url, xml, { files = [] } = {}) {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const r = await postSubmission(url, xml, files.map((f) => [f.name, f]), async (stale) => {
    if (!stale) return csrf ? csrf.content : '';
    // The worker logged in again elsewhere: this page's CSRF token is stale. Fetch a fresh
    // one and send once more, instead of asking for a reload that would lose the answers.
    if (!csrf) return '';
    let fresh = '';
    try { fresh = (await fetchCsrfToken()) || ''; } catch { /* none: the refusal is shown */ }
    if (fresh) csrf.content = fresh;
    return fresh;
  });
  if (r.ok) return r;
  if (r.network) return { ok: false, message: t('网络不通，答案仍在本页，请稍后再提交') };
  if (r.login) return { ok: false, message: t('登录已过期，请在新窗口重新登录后再提交') };
  return { ok: false, message: r.message || t('提交失败（HTTP {status}）', { status: r.status }) };
}

main();
