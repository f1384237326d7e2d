// Small page behaviours declared in the HTML, where an inline handler would otherwise be
// (the Content-Security-Policy runs no inline script; fieldapp/security_headers.py):
//   <button data-print>                 prints the page;
//   <form data-confirm="question">      asks before it is sent;
//   <form data-autosubmit>              is sent as soon as the page has loaded.
// A classic script served as it is (not bundled), loaded with `defer` by base.html.
(function () {
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-print]');
    if (button) window.print();
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });
  var forms = document.querySelectorAll('form[data-autosubmit]');
  for (var i = 0; i < forms.length; i++) forms[i].submit();
})();
