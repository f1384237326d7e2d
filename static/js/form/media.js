// Photo and GPS widgets for question.js.
//
// Photos: the camera of a cheap phone makes 4–12 MB JPEGs; a village has no signal to
// send that. We shrink on the phone (longest side ≤ 1600 px, JPEG quality 0.8, ~200–400 kB)
// before the engine gets the file, so the draft, the outbox and the upload are all small.
// GPS: one reading with high accuracy, stored as ODK writes it: "lat lon alt accuracy".
import { t } from '../i18n.js';

const MAX_SIDE = 1600;
const QUALITY = 0.8;

export async function shrinkPhoto(file, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return new File([file], name, { type: file.type || 'image/jpeg' }); // not decodable here: keep as is
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').drawImage(bitmap, 0, 0, w, h);
  bitmap.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
  canvas.width = canvas.height = 0; // free the memory at once on small phones
  return new File([blob || file], name, { type: 'image/jpeg' });
}

// "household_photo-20261129-143005.jpg": unique per question and moment, ASCII only.
function photoName(question) {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  const safe = String(question || 'photo').replace(/[^A-Za-z0-9_-]/g, '_');
  return `${safe}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.jpg`;
}

function changed(el) { el.dispatchEvent(new Event('change', { bubbles: true })); }

function button(text, className) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  return b;
}

export function createPhoto(form, node, id) {
  const box = document.createElement('div');
  box.className = 'photo';
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = 'image/*';
  input.setAttribute('capture', 'environment');
  input.id = id;
  input.className = 'photo-input';
  const take = document.createElement('label');
  take.className = 'photo-take';
  take.htmlFor = id;
  take.textContent = t('拍照');
  const thumb = document.createElement('img');
  thumb.className = 'photo-thumb';
  thumb.alt = t('照片预览');
  thumb.hidden = true;
  const status = document.createElement('p');
  status.className = 'photo-status';
  status.hidden = true;
  const remove = button(t('删除照片'), 'photo-remove');
  remove.hidden = true;
  box.append(input, take, thumb, status, remove);

  let shownFile = null;
  let url = '';
  input.addEventListener('change', async (event) => {
    event.stopPropagation(); // the draft is saved after the photo is set, not before
    const file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    status.textContent = t('正在处理照片…');
    status.hidden = false;
    try {
      const small = await shrinkPhoto(file, photoName(form.name(node)));
      form.setFile(node, small);
      status.hidden = true;
    } catch (err) {
      console.error(err);
      status.textContent = t('照片无法读取，请重拍');
    }
    changed(box);
  });
  remove.addEventListener('click', () => {
    if (!window.confirm(t('确定删除这张照片吗？'))) return;
    form.setFile(node, null);
    changed(box);
  });

  function update(readonly) {
    const file = form.file(node);
    input.disabled = readonly;
    take.classList.toggle('disabled', readonly);
    take.textContent = file ? t('重拍') : t('拍照');
    remove.hidden = !file || readonly;
    if (file === shownFile) return;
    shownFile = file;
    if (url) URL.revokeObjectURL(url);
    url = file ? URL.createObjectURL(file) : '';
    thumb.hidden = !file;
    if (file) thumb.src = url;
    else thumb.removeAttribute('src');
  }
  return { element: box, update, focusTarget: () => input };
}

const GEO_ERRORS = {
  1: '未允许定位：请在浏览器设置里允许本网站使用位置信息',
  2: '无法定位：请打开手机的定位（GPS）后重试',
  3: '定位超时：请到开阔处再试',
};

export function createGeopoint(form, node, id) {
  const box = document.createElement('div');
  box.className = 'geopoint';
  const get = button(t('获取位置'), 'geo-get');
  get.id = id;
  const shown = document.createElement('p');
  shown.className = 'geo-value';
  const status = document.createElement('p');
  status.className = 'geo-status';
  status.hidden = true;
  const clear = button(t('清除位置'), 'geo-clear');
  box.append(get, shown, status, clear);

  get.addEventListener('click', () => {
    if (!navigator.geolocation) {
      status.textContent = t('此手机浏览器不能定位');
      status.hidden = false;
      return;
    }
    get.disabled = true;
    status.textContent = t('正在定位…（可能需要 1 分钟）');
    status.hidden = false;
    navigator.geolocation.getCurrentPosition((pos) => {
      const c = pos.coords;
      const alt = c.altitude == null ? 0 : c.altitude;
      form.setValue(node, `${c.latitude} ${c.longitude} ${alt} ${c.accuracy}`);
      get.disabled = false;
      status.hidden = true;
      changed(box);
    }, (err) => {
      get.disabled = false;
      status.textContent = t(GEO_ERRORS[err.code] || '无法定位，请重试');
    }, { enableHighAccuracy: true, timeout: 60000, maximumAge: 0 });
  });
  clear.addEventListener('click', () => { form.setValue(node, ''); changed(box); });

  function update(readonly) {
    const v = String(form.value(node) || '').trim();
    const [lat, lon, , acc] = v.split(/\s+/).map(Number);
    const has = v !== '' && Number.isFinite(lat) && Number.isFinite(lon);
    shown.textContent = has
      ? `${t('纬度')} ${lat.toFixed(6)}，${t('经度')} ${lon.toFixed(6)}${Number.isFinite(acc) ? `，${t('精度 ±{n} 米', { n: Math.round(acc) })}` : ''}`
      : t('尚未获取位置');
    shown.classList.toggle('geo-empty', !has);
    get.hidden = readonly;
    clear.hidden = !has || readonly;
    get.textContent = has ? t('重新获取位置') : t('获取位置');
  }
  return { element: box, update, focusTarget: () => get };
}
