// Small DOM and wording helpers of the app shell.

// h('div', { class: 'x', dataset: { id: 1 }, onclick }, child, 'text', ...)
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // Styles through the CSSOM: a style attribute is refused by the Content-Security-Policy.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'hidden') el.hidden = !!v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

// Resolves in a task of its own, after the tasks already queued (a tap, a key): a message
// to itself, which a hidden page does not throttle as it does setTimeout.
export function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}

// "刚刚", "3 分钟前", "2 小时前", "昨天 14:05", "11月3日 09:30"
export function ago(ts, now = Date.now()) {
  if (!ts) return '从未';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return '刚刚';
  if (s < 3600) return `${Math.floor(s / 60)} 分钟前`;
  if (s < 86400) return `${Math.floor(s / 3600)} 小时前`;
  const d = new Date(ts);
  const p = (n) => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (s < 2 * 86400) return `昨天 ${hm}`;
  return `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}

// A modal choice: resolves to the value of the button tapped (or null when dismissed).
export function choose(message, buttons) {
  return new Promise((resolve) => {
    const dlg = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true' });
    const box = h('div', { class: 'modal-box' }, h('p', { class: 'modal-text' }, message));
    const row = h('div', { class: 'modal-buttons' });
    for (const b of buttons) {
      row.append(h('button', {
        type: 'button', class: b.class || '',
        onclick: () => { dlg.remove(); resolve(b.value); },
      }, b.text));
    }
    box.append(row);
    dlg.append(box);
    dlg.addEventListener('click', (e) => { if (e.target === dlg) { dlg.remove(); resolve(null); } });
    document.body.append(dlg);
    row.querySelector('button')?.focus();
  });
}
