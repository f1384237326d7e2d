// Writing to the server, the same way from the fill page, the offline app and the service
// worker (which has no DOM: nothing here may use document or DOMParser):
//   - a fresh CSRF token from /csrf-token;
//   - one instance POSTed to OpenRosa /submission as ODK Collect does (multipart, the XML
//     as part `xml_submission_file`, then the files named as in the XML), sent once more
//     with a fresh token when the server says the token is stale;
//   - the text of the server's OpenRosa <message nature="error"> reply.
// What each caller tells the worker is its own; only the talking is shared.

// fetch() with a time limit: on a bad mobile line a connection can stall with no error,
// and without a limit the sync waits on it for minutes (the worker sees 正在同步 and
// nothing moves). A stalled request is aborted and counts as a network failure: the
// outbox tries again later, and the server takes a re-send of what it already has as a
// duplicate. `ms`: 45 s, plus time for large uploads (at 10 kB/s).
export async function timedFetch(url, options = {}, ms = 45_000) {
  if (typeof AbortController === 'undefined') return fetch(url, options);
  const controller = new AbortController();
  // Not cleared when the headers arrive: the limit covers reading the body too (an
  // abort after the body was read changes nothing).
  setTimeout(() => controller.abort(), ms);
  return fetch(url, { ...options, signal: controller.signal });
}

// An expired login: 401, or (with redirect: 'manual') the redirect to the login page.
export function needsLogin(res) {
  return res.status === 401 || res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400);
}

// The token, or null when nobody is logged in. Throws when the network or the server fails.
export async function fetchCsrfToken() {
  const res = await timedFetch('/csrf-token', { credentials: 'same-origin', redirect: 'manual', cache: 'no-store' });
  if (needsLogin(res)) return null;
  if (!res.ok) throw new Error(`csrf ${res.status}`);
  return (await res.json()).token;
}

// POST one instance; `files` are [name, blob] pairs. Never throws. Resolves to
//   { ok: true } | { ok: false, network: true } | { ok: false, login: true }
//   | { ok: false, status, message }   (message: the server's <message> text, or '')
// `csrfToken(stale)` gives the token to send: stale is false the first time, true once
// after the server refused the token. It may give null (nobody is logged in: login), ''
// when asked for a fresh one (none to be had: the refusal is returned as it is), or throw
// (network).
export async function postSubmission(url, xml, files, csrfToken) {
  let res;
  try {
    let token = await csrfToken(false);
    if (token === null) return { ok: false, login: true };
    res = await send(url, xml, files, token);
    if (!isDone(res) && res.headers.get('X-Fieldapp-CSRF') === 'invalid') {
      // Logged in again elsewhere (another tab, the login page): send once more with a fresh token.
      token = await csrfToken(true);
      if (token === null) return { ok: false, login: true };
      if (token !== '') res = await send(url, xml, files, token);
    }
  } catch {
    return { ok: false, network: true };
  }
  if (isDone(res)) return { ok: true };
  if (needsLogin(res)) return { ok: false, login: true };
  let message = '';
  try { message = openRosaMessage(await res.text()); } catch { /* body unreadable: no message */ }
  return { ok: false, status: res.status, message };
}

function send(url, xml, files, token) {
  const body = new FormData();
  body.append('xml_submission_file', new Blob([xml], { type: 'text/xml' }), 'submission.xml');
  let bytes = xml.length;
  for (const [name, blob] of files) { body.append(name, blob, name); bytes += blob.size; } // photos, named as in the XML
  return timedFetch(url, {
    method: 'POST', body, credentials: 'same-origin', cache: 'no-store',
    // 'manual': a redirect here can only be the login page of an expired session.
    redirect: 'manual',
    headers: { 'X-OpenRosa-Version': '1.0', 'X-CSRFToken': token },
  }, 45_000 + bytes / 10);
}

function isDone(res) { return res.status === 200 || res.status === 201 || res.status === 202; }

const ENTITIES = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
const MESSAGE = /<(?:[\w.-]+:)?message\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?message\s*>/;
const MARKUP = /<!\[CDATA\[([\s\S]*?)\]\]>|<[^>]*>|&(?:#(\d+)|#x([\da-fA-F]+)|(lt|gt|quot|apos|amp));/g;

// <OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="error">TEXT</message>
// -> TEXT (inner tags dropped, entities and CDATA read). Text matching, not DOMParser: a
// service worker has none.
export function openRosaMessage(body) {
  const m = MESSAGE.exec(body || '');
  if (!m) return '';
  return m[1].replace(MARKUP, (all, cdata, dec, hex, name) => {
    if (cdata !== undefined) return cdata;
    if (name) return ENTITIES[name];
    if (!dec && !hex) return ''; // a tag
    const code = parseInt(dec || hex, dec ? 10 : 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : all;
  }).trim();
}
