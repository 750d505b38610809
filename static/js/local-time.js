// The audit page shows times in UTC; hovering one shows it in the viewer's own time zone.
(function () {
  "use strict";
  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.title = when.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "long"});
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localise(event.target); });
})();
