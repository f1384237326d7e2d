// The export job page (templates/exports/job.html): polls the job's status and shows its
// progress, then the download link. The words come from the page's data-word-* attributes
// (translated by the server). A classic script served as it is (not bundled).
(function () {
  var box = document.getElementById('export-job');
  if (!box) return;
  var bar = document.getElementById('job-progress');
  var text = document.getElementById('job-status');
  var link = document.getElementById('job-download');
  var words = {queued: box.dataset.wordQueued, running: box.dataset.wordRunning,
               done: box.dataset.wordDone, failed: box.dataset.wordFailed};
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        text.textContent = (words[s.status] || s.status)
          + (s.status === 'running' ? ' ' + Math.round(s.progress * 100) + '%' : '')
          + (s.error ? box.dataset.wordColon + s.error : '');
        if (s.download_url) { link.href = s.download_url; link.hidden = false; }
        if (s.status !== 'done' && s.status !== 'failed') setTimeout(poll, 1500);
      }).catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
