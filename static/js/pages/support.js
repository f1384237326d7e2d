// Says why a form cannot be filled on this browser (the fill page and the phone app shell).
// A classic script in ES5, served as it is (not bundled): it must run where ES modules do
// not. Its <script> tag names the element to hide (data-host) and whether IndexedDB is
// needed (data-indexeddb, the offline app); kept in a file, not inline, for the
// Content-Security-Policy (fieldapp/security_headers.py).
(function () {
  var tag = document.currentScript;
  var needsDb = tag && tag.hasAttribute('data-indexeddb');
  var ok = typeof WebAssembly === 'object'
    && typeof HTMLScriptElement !== 'undefined' && 'noModule' in HTMLScriptElement.prototype
    && window.isSecureContext && window.crypto && typeof crypto.randomUUID === 'function'
    && (!needsDb || 'indexedDB' in window);
  if (!ok) {
    // Not a secure context (plain http on the network) is the usual cause: say so.
    document.getElementById(window.isSecureContext === false ? 'insecure' : 'unsupported').hidden = false;
    var host = tag && document.getElementById(tag.getAttribute('data-host'));
    if (host) host.hidden = true;
  }
})();
