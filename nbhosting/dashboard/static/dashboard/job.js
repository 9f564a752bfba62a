// Polls the job's JSON and appends its log as it grows, until the job is over.
(function () {
  const log = document.getElementById("job-log");
  const state = document.getElementById("job-state");
  const summary = document.getElementById("job-summary");
  let offset = 0;
  async function poll() {
    try {
      const response = await fetch(log.dataset.url + "?offset=" + offset, {credentials: "same-origin"});
      if (response.ok) {
        const job = await response.json();
        log.textContent += job.log;
        offset = job.offset;
        state.textContent = job.state;
        state.className = "state-" + job.state;
        summary.textContent = job.summary;
        if (!job.active) return;
      }
    } catch (error) { /* a dropped poll is retried below */ }
    setTimeout(poll, 1000);
  }
  poll();
})();
