// "Select all" for the bulk actions, and keyboard shortcuts for agents who live in the
// inbox all day:
//   j / k   next / previous report      x   select the current report
//   Enter   open the current report     /   jump to the search field
// Shortcuts never fire while typing in a field.
(function () {
  "use strict";
  function init() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
    var current = -1;
    // "Select all" in the table head (hidden without JavaScript: each row has its own box).
    var all = document.querySelector("[data-select-all]");
    if (all && rows.length) {
      var boxes = rows.map(function (row) { return row.querySelector("input[type=checkbox]"); })
        .filter(Boolean);
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
      boxes.forEach(function (box) {
        box.addEventListener("change", function () {
          var ticked = boxes.filter(function (b) { return b.checked; }).length;
          all.checked = ticked === boxes.length;
          all.indeterminate = ticked > 0 && ticked < boxes.length;
        });
      });
    }
    function focusRow(index) {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) { row.classList.toggle("is-current", i === current); });
      var link = rows[current].querySelector("[data-row-link]");
      if (link) link.focus();
    }
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || target.isContentEditable;
      if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
      else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
      else if (event.key === "x" && current >= 0) {
        var box = rows[current].querySelector("input[type=checkbox]");
        if (box) {
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change"));
        }
        event.preventDefault();
      } else if (event.key === "/") {
        var search = document.querySelector("[data-inbox-search]");
        if (search) { search.focus(); event.preventDefault(); }
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
