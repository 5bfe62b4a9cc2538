// Dashboards: the map's player and sortable tables. Everything works without this file:
// the player is a GET form (choose a period, "Show"), the tables are in their server order.
(function () {
  "use strict";

  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      if (!th.hasAttribute("aria-sort")) th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index], y = b.cells[index];
          if (!x || !y) return 0;
          var xv = x.getAttribute("data-value"), yv = y.getAttribute("data-value");
          var result;
          if (xv !== null && yv !== null) {
            result = (xv === "" ? -Infinity : Number(xv)) - (yv === "" ? -Infinity : Number(yv));
          } else {
            result = x.textContent.localeCompare(y.textContent, document.documentElement.lang);
          }
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function fillFor(data, count) {
    if (count === null) return data.hatch;
    if (count === 0) return data.empty;
    for (var i = 0; i < data.bins.length; i++) {
      if (count <= data.bins[i]) return data.fills[i];
    }
    return data.fills[data.fills.length - 1];
  }

  function player(form) {
    var slug = form.getAttribute("data-map");
    var source = document.getElementById("frames-" + slug);
    var map = document.getElementById("map-" + slug);
    var select = form.querySelector("select");
    if (!source || !map || !select) return;
    var data = JSON.parse(source.textContent);
    if (data.periods.length < 2) return;
    var paths = {};
    Array.prototype.forEach.call(map.querySelectorAll("path[data-code]"), function (path) {
      paths[path.getAttribute("data-code")] = path;
    });
    var figure = form.closest("figure");
    var table = figure ? figure.querySelector("table[data-sortable]") : null;
    var summary = document.getElementById("summary-" + slug);
    var shownFirst = select.selectedIndex;
    var labels = Array.prototype.map.call(select.options, function (o) { return o.textContent; });

    var range = document.createElement("input");
    range.type = "range";
    range.min = "0";
    range.max = String(data.periods.length - 1);
    range.value = String(select.selectedIndex);
    range.id = select.id;
    range.setAttribute("aria-valuetext", labels[select.selectedIndex]);
    var label = form.querySelector("label");
    var output = document.createElement("output");
    output.setAttribute("for", range.id);
    output.setAttribute("aria-live", "polite");
    output.textContent = labels[select.selectedIndex];
    var play = document.createElement("button");
    play.type = "button";
    play.className = "button button-small";
    play.setAttribute("aria-pressed", "false");
    play.textContent = form.getAttribute("data-play") || "▶";
    var submit = form.querySelector("button[type=submit]");
    select.replaceWith(range);
    form.insertBefore(play, label);
    range.after(output);
    if (submit) submit.hidden = true;
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "frame";
    form.appendChild(hidden);

    function show(index, announce) {
      var counts = data.frames[index];
      var previous = index > 0 ? data.frames[index - 1] : null;
      data.codes.forEach(function (code, i) {
        var path = paths[code];
        if (path) path.setAttribute("fill", fillFor(data, counts[i]));
      });
      if (table) {
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          var i = data.codes.indexOf(row.getAttribute("data-code"));
          if (i < 0 || row.cells.length < 4) return;
          var count = counts[i];
          var before = previous ? previous[i] : null;
          row.cells[2].textContent = count === null ? row.cells[2].getAttribute("data-hidden") || "–" : String(count);
          row.cells[2].setAttribute("data-value", count === null ? "-1" : String(count));
          var change = count === null || before === null || previous === null ? null : count - before;
          row.cells[3].textContent = change === null ? "–" : (change > 0 ? "+" + change : String(change));
          row.cells[3].setAttribute("data-value", change === null ? "" : String(change));
        });
        var caption = figure.querySelector("details.figure-table summary");
        if (caption && caption.getAttribute("data-template")) {
          caption.textContent = caption.getAttribute("data-template").replace("{period}", labels[index]);
        }
      }
      if (summary) summary.hidden = index !== shownFirst;
      range.value = String(index);
      range.setAttribute("aria-valuetext", labels[index]);
      output.setAttribute("aria-live", announce ? "polite" : "off");
      output.textContent = labels[index];
      hidden.value = data.periods[index];
    }

    range.addEventListener("input", function () { stop(); show(Number(range.value), true); });
    var timer = null;
    function stop() {
      if (timer) window.clearInterval(timer);
      timer = null;
      play.setAttribute("aria-pressed", "false");
      play.textContent = form.getAttribute("data-play") || "▶";
    }
    play.addEventListener("click", function () {
      if (timer) { stop(); show(Number(range.value), true); return; }
      var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      var index = Number(range.value);
      if (index >= data.periods.length - 1) index = -1;
      play.setAttribute("aria-pressed", "true");
      play.textContent = form.getAttribute("data-pause") || "❚❚";
      timer = window.setInterval(function () {
        index += 1;
        if (index >= data.periods.length) { stop(); show(data.periods.length - 1, true); return; }
        show(index, false);
      }, reduce ? 2000 : 700);
    });
  }

  document.querySelectorAll("table[data-sortable]").forEach(sortable);
  document.querySelectorAll("form.map-player").forEach(player);
})();
