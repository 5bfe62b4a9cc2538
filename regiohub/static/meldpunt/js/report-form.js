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
          r.street, false));
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

// Address suggestions: while the citizen types an address, offer what the address register
// knows (in the chosen municipality when one is chosen); choosing one marks it on the map
// and fills the address and municipality. Without JavaScript the form asks the same in a
// second step ("Did you mean …?").
(function () {
  "use strict";
  function init() {
    var box = document.querySelector("[data-address-suggestions]");
    var address = document.getElementById("id_address");
    var form = address && address.form;
    if (!box || !address || !form || !window.fetch) return;
    var lat = form.querySelector("[name=latitude]");
    var lng = form.querySelector("[name=longitude]");
    var source = form.querySelector("[name=location_source]");
    var registerId = form.querySelector("[name=address_register_id]");
    var municipality = form.querySelector("select[name=municipality]");
    var data = box.dataset;
    var timer = null;
    var ticket = 0;
    var lastQuery = "";

    function choose(place) {
      address.value = place.label;
      if (municipality) {
        Array.prototype.forEach.call(municipality.options, function (option) {
          if (option.text === place.municipality) municipality.value = option.value;
        });
      }
      source.value = "address";
      registerId.value = place.register_id || "";
      lat.value = place.lat.toFixed(6);
      lng.value = place.lng.toFixed(6);
      [lat, lng].forEach(function (input) {
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
      box.textContent = "";
      var done = document.createElement("p");
      done.className = "address-chosen";
      done.textContent = data.msgChosen + " " + place.label;
      box.appendChild(done);
      lastQuery = address.value;
    }

    function show(places) {
      box.textContent = "";
      if (!places.length) { box.hidden = true; return; }
      var title = document.createElement("p");
      title.className = "help";
      title.textContent = data.msgTitle;
      box.appendChild(title);
      var list = document.createElement("ul");
      list.className = "address-suggestion-list";
      places.forEach(function (place) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button button-secondary button-small";
        button.textContent = place.label;
        button.addEventListener("click", function () { choose(place); address.focus(); });
        item.appendChild(button);
        list.appendChild(item);
      });
      box.appendChild(list);
      box.hidden = false;
    }

    function lookUp() {
      var text = address.value.trim();
      if (text.length < 3 || text === lastQuery) return;
      lastQuery = text;
      var mine = ++ticket;
      var query = "?q=" + encodeURIComponent(text);
      if (municipality && municipality.value) {
        query += "&match=1&municipality=" + encodeURIComponent(municipality.value);
      }
      fetch(data.url + query, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { places: [] }; })
        .then(function (body) { if (mine === ticket) show(body.places || []); })
        .catch(function () { box.hidden = true; });
    }

    address.addEventListener("input", function () {
      // A typed change undoes a chosen match: the point may no longer be this address.
      if (source.value === "address") {
        source.value = "";
        registerId.value = "";
      }
      clearTimeout(timer);
      timer = setTimeout(lookUp, 350);
    });
    if (municipality) municipality.addEventListener("change", function () {
      lastQuery = "";
      clearTimeout(timer);
      timer = setTimeout(lookUp, 50);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// A photo's position: when a chosen photo says where it was taken (in the region), offer
// it as the place. It is used only when the citizen presses the button; the photo that is
// sent with the report is stripped of its position either way.
(function () {
  "use strict";
  function init() {
    var box = document.querySelector("[data-photo-place]");
    var input = document.getElementById("id_photos");
    var form = input && input.form;
    if (!box || !input || !form || !window.fetch || !window.FormData) return;
    var data = box.dataset;
    var csrf = form.querySelector("[name=csrfmiddlewaretoken]");
    input.addEventListener("change", function () {
      box.hidden = true;
      box.textContent = "";
      var file = input.files && input.files[0];
      if (!file) return;
      var body = new FormData();
      body.append("photo", file);
      fetch(data.url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "" },
      })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (answer) {
          var position = answer.position;
          if (!position) return;
          var text = document.createElement("p");
          text.textContent = data.msgFound + " " + (position.label || position.municipality);
          var button = document.createElement("button");
          button.type = "button";
          button.className = "button button-secondary";
          button.textContent = data.msgUse;
          button.addEventListener("click", function () {
            form.querySelector("[name=location_source]").value = "photo";
            form.querySelector("[name=address_register_id]").value = "";
            var lat = form.querySelector("[name=latitude]");
            var lng = form.querySelector("[name=longitude]");
            lat.value = position.lat.toFixed(6);
            lng.value = position.lng.toFixed(6);
            [lat, lng].forEach(function (el) {
              el.dispatchEvent(new Event("change", { bubbles: true }));
            });
            box.textContent = "";
            var done = document.createElement("p");
            done.textContent = data.msgUsed;
            box.appendChild(done);
          });
          box.appendChild(text);
          box.appendChild(button);
          box.hidden = false;
        })
        .catch(function () {});
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
