// UI strings of the form filler. Chinese is the default (the workers read Chinese
// only); English when the page says data-lang="en". Keys are the Chinese strings so
// the code reads naturally and a missing English entry falls back to Chinese.
const EN = {
  '提交': 'Submit',
  '提交中…': 'Submitting…',
  '已提交': 'Submitted',
  '添加一项': 'Add',
  '删除此项': 'Remove',
  '第 {n} 项': 'Item {n}',
  '问卷语言': 'Form language',
  '默认': 'Default',
  '正在加载问卷…': 'Loading the form…',
  '问卷加载失败：{msg}': 'The form could not be loaded: {msg}',
  '还有 {n} 题需要修改': '{n} question(s) still need attention',
  '此题必答': 'This question is required',
  '答案不符合要求': 'This answer is not allowed',
  '该题型暂不支持：{type}': 'This question type is not supported yet: {type}',
  '请填写数字，例如 12': 'Please enter a number, e.g. 12',
  '请填写整数（不要小数点）': 'Please enter a whole number (no decimal point)',
  '数字太大或太小': 'The number is too large or too small',
  '小数请用点“.”，不要用逗号': 'Use a point "." for decimals, not a comma',
  '请填写数字，例如 2.5': 'Please enter a number, e.g. 2.5',
  '登录已过期，请在新窗口重新登录后再提交': 'Your login has expired. Log in again in a new window, then submit.',
  '网络不通，答案仍在本页，请稍后再提交': 'No network. Your answers are still on this page; submit again later.',
  '提交失败（HTTP {status}）': 'Submission failed (HTTP {status})',
  '确定删除这一项吗？': 'Remove this item?',
};

let lang = 'zh';

export function setUILanguage(code) {
  lang = code === 'en' ? 'en' : 'zh';
}
export function uiLanguage() {
  return lang;
}

// t('还有 {n} 题需要修改', { n: 3 })
export function t(key, params = {}) {
  const s = (lang === 'en' && EN[key]) || key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}
