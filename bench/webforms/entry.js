// ODK Web Forms, the reference UI, mounted the way its README says; used only by the bench.
// `?form=<xform URL>&media=<folder URL>`: form attachments (jr://file/x.csv,
// jr://images/a.png ...) are fetched from <media>/<file name>, as our app gives them to
// the engine (static/js/form/engine.js mediaURL; static/js/app/fillview.js fetchAttachment),
// so forms with attachments open in both. A missing file is a 404: left blank, as ours.
import { createApp, h } from 'vue';
import { OdkWebForm, webFormsPlugin } from '@getodk/web-forms';

const params = new URLSearchParams(location.search);
const mediaBase = params.get('media') || new URL('media/', new URL(params.get('form'), location.href)).href;

// The same mapping as mediaURL() in static/js/form/engine.js.
function mediaURL(jrURL) {
  const href = String(jrURL && jrURL.href ? jrURL.href : jrURL);
  const name = href.replace(/^jr:\/\/[^/]*\//, '');
  const base = mediaBase.endsWith('/') ? mediaBase : mediaBase + '/';
  return new URL(encodeURI(decodeURI(name)), new URL(base, location.href)).href;
}

const xml = await (await fetch(params.get('form'))).text();
const app = createApp({
  render: () => h(OdkWebForm, {
    formXml: xml,
    fetchFormAttachment: (url) => fetch(mediaURL(url), { credentials: 'same-origin' }),
    missingResourceBehavior: 'BLANK',
    onSubmit: () => {},
  }),
});
app.use(webFormsPlugin);
app.mount('#app');
