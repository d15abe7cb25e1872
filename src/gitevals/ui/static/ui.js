// Forms that ask first (data-confirm), and the live progress of a run started
// from this server. Everything shown is set as text, never as markup.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();

// Live progress: server-sent events from /runs/<id>/events, for a run started
// here or one another process records (then the total may be unknown: null).
(function () {
  "use strict";
  var panel = document.getElementById("live");
  if (!panel || !window.EventSource) return;
  var byId = function (id) { return document.getElementById(id); };
  var bar = byId("live-progress"), list = byId("live-items"), status = byId("live-status");
  var runId = panel.getAttribute("data-run");
  var source = new EventSource(panel.getAttribute("data-events"));

  function counts(data) {
    var known = data.total !== null && data.total !== undefined;
    if (bar && known) { bar.max = data.total; bar.value = data.done; }
    var pairs = [["live-count", data.done + " / " + (known ? data.total : "?")], ["live-passed", data.passed],
                 ["live-failed", data.failed], ["live-errored", data.errored]];
    pairs.forEach(function (pair) { var el = byId(pair[0]); if (el) el.textContent = String(pair[1]); });
  }

  source.addEventListener("item", function (event) {
    var data = JSON.parse(event.data);
    counts(data);
    if (!list) return;
    var li = document.createElement("li");
    var link = document.createElement("a");
    link.href = "/runs/" + encodeURIComponent(runId) + "/items/" + encodeURIComponent(data.item_id) + "?trial=" + data.trial;
    link.textContent = data.item_id + (data.trial ? " (trial " + data.trial + ")" : "");
    var mark = document.createElement("span");
    mark.className = data.status;
    mark.textContent = " " + data.status.replace("_", " ");
    li.appendChild(link);
    li.appendChild(mark);
    li.setAttribute("data-status", data.status);
    list.appendChild(li);
  });

  source.addEventListener("end", function (event) {
    var data = JSON.parse(event.data);
    source.close();  // or EventSource would connect again
    counts(data);
    if (status) status.textContent = data.status;
    var head = byId("run-status");
    if (head) { head.textContent = data.status; head.className = "status " + data.status; }
    panel.setAttribute("data-state", "finished");
    var cancel = byId("cancel-form");
    if (cancel) cancel.hidden = true;
    var done = byId("live-done");
    if (done) done.hidden = false;
    var note = byId("live-note");  // e.g. a followed run that stopped writing results
    if (note && data.error) { note.textContent = data.error; note.hidden = false; }
  });
})();
