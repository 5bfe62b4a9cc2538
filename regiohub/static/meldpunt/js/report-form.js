// Report form: filter the subject list while typing. Without JavaScript every subject is
// simply listed (the search box stays hidden).
(function () {
  "use strict";
  function init() {
    var search = document.querySelector("[data-subject-search]");
    if (!search) return;
    document.documentElement.classList.add("js");
    var subjects = Array.prototype.slice.call(document.querySelectorAll("[data-subject]"));
    var none = document.querySelector("[data-no-subject]");
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
      var shown = 0;
      subjects.forEach(function (subject) {
        var text = subject.getAttribute("data-search");
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        var checked = subject.querySelector("input:checked");
        subject.hidden = !(match || checked);
        if (!subject.hidden) shown += 1;
      });
      if (none) none.hidden = shown > 0;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
