// Keys on the review page: p pass, f fail, ! flag, c comment, Enter save
// (Ctrl+Enter inside the comment), s skip, b back. Keys typed into a field stay
// in the field.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var follow = function (id) { var link = document.getElementById(id); if (link) window.location.href = link.href; };
  var verdict = function (value) { var radio = form.querySelector('input[name=verdict][value="' + value + '"]'); if (radio) radio.checked = true; };
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) && event.target.type !== "radio" && event.target.type !== "checkbox";
    if (event.key === "Enter" && /^(A|BUTTON)$/.test(event.target.tagName)) return;  // a link or button does its own
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); return; }
    if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
    var flag = form.querySelector("input[name=flagged]");
    var actions = {
      p: function () { verdict("pass"); },
      f: function () { verdict("fail"); },
      "!": function () { flag.checked = !flag.checked; },
      c: function () { form.querySelector("textarea[name=comment]").focus(); },
      s: function () { follow("skip"); },
      b: function () { follow("back"); },
      Enter: function () { form.requestSubmit(); }
    };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });
  form.dataset.keys = "on";  // the keys work from now on (tests wait for this)
})();
