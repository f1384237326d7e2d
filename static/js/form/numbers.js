// Parsing of typed numbers before they reach the engine.
//
// Why: the engine turns text it cannot parse ("abc", the decimal comma "2,5") into a
// blank and silently wipes the previous answer; it stores setValue(NaN) as "NaN" and
// quietly changes integers with a fraction or outside 32 bits. So we parse here, hand
// over only clean strings, and otherwise show a message and keep the old answer.

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

// Phones with a Chinese IME often type full-width digits and signs: １２．５
function normalize(raw) {
  return String(raw)
    .replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[\uFF0E\u3002]/g, '.') // ． and 。
    .replace(/[\uFF0D\u2212]/g, '-') // － and −
    .replace(/\uFF0B/g, '+')
    .replace(/\s+/g, '');
}

// Returns { ok: true, value: '' | '12' } or { ok: false, error: '<i18n key>' }.
// `incomplete` is true for text a person is still typing ("-", "3."): no message yet.
export function parseNumber(raw, kind) {
  const s = normalize(raw);
  if (s === '') return { ok: true, value: '' };
  if (s === '-' || s === '+') return { ok: false, incomplete: true, error: '请填写数字，例如 12' };
  if (/^[+-]?\d+,\d+$/.test(s) && kind === 'decimal') return { ok: false, error: '小数请用点“.”，不要用逗号' };
  if (kind === 'integer') {
    if (/^[+-]?\d+\.0*$/.test(s)) return finishInt(s.replace(/\.0*$/, ''));
    if (/^[+-]?(\d+\.\d*|\.\d+)$/.test(s)) return { ok: false, error: '请填写整数（不要小数点）' };
    if (!/^[+-]?\d+$/.test(s)) return { ok: false, error: '请填写数字，例如 12' };
    return finishInt(s);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) return { ok: false, error: '请填写数字，例如 2.5' };
  const n = Number(s);
  if (!Number.isFinite(n)) return { ok: false, error: '数字太大或太小' };
  return { ok: true, value: s.replace(/\.$/, '').replace(/^\+/, '') };
}

function finishInt(s) {
  const n = Number(s);
  if (n < INT_MIN || n > INT_MAX) return { ok: false, error: '数字太大或太小' };
  return { ok: true, value: String(n) };
}

// True when text in the box and the engine's stored answer mean the same number
// ("2" and "2.0"), so we do not overwrite what the person typed.
export function sameNumber(text, stored) {
  const a = parseNumber(text, 'decimal');
  if (!a.ok) return false;
  if (a.value === '' || stored === '') return a.value === stored;
  return Number(a.value) === Number(stored);
}
