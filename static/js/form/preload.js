// ODK's `end` metadata (jr:preload="timestamp" jr:preloadParams="end") is the moment the
// questionnaire is finalized. The engine fills `start` when the form opens but leaves
// `end` empty, so we stamp it into the instance XML when the worker finalizes.

const JR = 'http://openrosa.org/javarosa';

// The nodeset paths (e.g. "/data/end") of every `end` timestamp in an XForm.
export function endPaths(xformXml) {
  const doc = new DOMParser().parseFromString(xformXml, 'text/xml');
  return [...doc.getElementsByTagNameNS('*', 'bind')]
    .filter((b) => b.getAttributeNS(JR, 'preload') === 'timestamp'
      && b.getAttributeNS(JR, 'preloadParams') === 'end')
    .map((b) => b.getAttribute('nodeset'));
}

// Local time with the phone's UTC offset, as ODK Collect writes dateTime values.
export function nowWithOffset(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    + `.${pad(date.getMilliseconds(), 3)}${off >= 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

// Return instanceXml with each empty `end` element set to now.
export function stampEnd(instanceXml, paths, now = nowWithOffset()) {
  if (!paths.length) return instanceXml;
  const doc = new DOMParser().parseFromString(instanceXml, 'text/xml');
  for (const path of paths) {
    let node = doc.documentElement;
    for (const step of path.split('/').filter(Boolean).slice(1)) {
      node = node && [...node.children].find((c) => c.localName === step);
    }
    if (node && !node.textContent) node.textContent = now;
  }
  return new XMLSerializer().serializeToString(doc);
}
