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

// "Me too": once the subject and the place are known, show open reports of the same kind
// nearby and let the citizen say theirs is one of them (the hidden same_as field). Without
// JavaScript the report is simply filed; an agent can still merge it later.
(function () {
  "use strict";
  function init() {
    var box = document.querySelector("[data-nearby]");
    var lat = document.getElementById("id_latitude");
    var lng = document.getElementById("id_longitude");
    var sameAs = document.getElementById("id_same_as");
    if (!box || !lat || !lng || !sameAs || !window.fetch) return;
    var data = box.dataset;
    var timer = null;
    var lastQuery = "";

    function subject() {
      var checked = document.querySelector("input[name=category]:checked");
      return checked ? checked.value : "";
    }

    function option(name, value, labelText, detail, checked) {
      var wrapper = document.createElement("div");
      wrapper.className = "radio nearby-option";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "same-as-choice";
      input.value = value;
      input.id = "same-as-" + (value || "none");
      input.checked = checked;
      input.addEventListener("change", function () { sameAs.value = value; });
      var label = document.createElement("label");
      label.htmlFor = input.id;
      label.textContent = labelText;
      wrapper.appendChild(input);
      wrapper.appendChild(label);
      if (detail) {
        var p = document.createElement("p");
        p.className = "help";
        p.textContent = detail;
        wrapper.appendChild(p);
      }
      return wrapper;
    }

    function show(reports) {
      box.textContent = "";
      sameAs.value = "";
      if (!reports.length) { box.hidden = true; return; }
      var fieldset = document.createElement("fieldset");
      fieldset.className = "field";
      var legend = document.createElement("legend");
      legend.textContent = data.msgTitle;
      fieldset.appendChild(legend);
      var help = document.createElement("p");
      help.className = "help";
      help.textContent = data.msgHelp;
      fieldset.appendChild(help);
      reports.forEach(function (r) {
        fieldset.appendChild(option(
          "same", r.reference,
          data.msgMine + ": " + r.subject + " · " + r.distance_m + " " + data.msgAway + " · " +
            r.status + " · " + r.reported + " (" + r.reference + ")",
          r.description, false));
      });
      fieldset.appendChild(option("same", "", data.msgNone, "", true));
      box.appendChild(fieldset);
      box.hidden = false;
    }

    function lookUp() {
      var code = subject();
      if (!code || !lat.value || !lng.value) return;
      var query = "?lat=" + encodeURIComponent(lat.value) + "&lng=" + encodeURIComponent(lng.value) +
        "&category=" + encodeURIComponent(code);
      if (query === lastQuery) return;
      lastQuery = query;
      fetch(data.url + query, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { reports: [] }; })
        .then(function (body) { show(body.reports || []); })
        .catch(function () { box.hidden = true; });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(lookUp, 300);
    }
    lat.addEventListener("change", later);
    lng.addEventListener("change", later);
    document.querySelectorAll("input[name=category]").forEach(function (radio) {
      radio.addEventListener("change", later);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
