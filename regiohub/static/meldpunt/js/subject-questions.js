// The subjects' extra questions (ADR 0040). Without JavaScript every subject's questions
// show, each in its own fieldset under "Only for <subject>", and only the chosen subject's
// answers are used. With it, only the chosen subject's fieldset shows; the others are
// hidden and disabled, so they are neither sent nor reached with the keyboard.
(function () {
  "use strict";

  function start() {
    var groups = Array.prototype.slice.call(document.querySelectorAll("[data-questions-for]"));
    if (!groups.length) return;
    var form = groups[0].closest("form");
    if (!form) return;
    var intro = form.querySelector("[data-questions-intro]");

    function chosen() {
      var select = form.querySelector("select[name=category]");
      if (select) return select.value;
      var radio = form.querySelector("input[type=radio][name=category]:checked");
      return radio ? radio.value : "";
    }

    function show() {
      var code = chosen();
      groups.forEach(function (group) {
        var mine = group.getAttribute("data-questions-for") === code;
        group.hidden = !mine;
        group.disabled = !mine;
      });
      if (intro) intro.hidden = true;
    }

    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "category") show();
    });
    show();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
