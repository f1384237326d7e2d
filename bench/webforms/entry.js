// ODK Web Forms, the reference UI, mounted the way its README says; used only by the bench.
import { createApp, h } from 'vue';
import { OdkWebForm, webFormsPlugin } from '@getodk/web-forms';

const params = new URLSearchParams(location.search);
const xml = await (await fetch(params.get('form'))).text();
const app = createApp({
  render: () => h(OdkWebForm, {
    formXml: xml,
    fetchFormAttachment: (url) => fetch(String(url)),
    missingResourceBehavior: 'BLANK',
    onSubmit: () => {},
  }),
});
app.use(webFormsPlugin);
app.mount('#app');
