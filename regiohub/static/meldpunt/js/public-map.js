/*
 * The public map of open reports (meldpunt/templates/meldpunt/public_map.html).
 *
 * Without JavaScript the map's section stays hidden and the page is the list. With it: a
 * Leaflet map beside the list, the municipal boundaries from our own data always drawn
 * (background tiles only when the site has them, and the map stays usable when they fail),
 * and the open reports of the view read from the JSON with the page's filters: each report,
 * or clusters when the view holds many. Read again when the view changes, never by itself.
 *
 * Keyboard: arrow keys move the map, + and - zoom (Leaflet); Tab reaches every report and
 * cluster on the map, Enter opens a report (focus moves into it, Escape closes it and
 * returns) or zooms into a cluster. No animation when the user prefers reduced motion.
 * Every visible string comes from the data-msg-* attributes (translated in the template);
 * values from the JSON are set as text, never as HTML. Plain ES2017, CSP-safe.
 */
(function () {
  "use strict";

  var REDUCED = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  var TILE_ERRORS_BEFORE_NOTE = 3;

  function format(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (whole, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function escapeHtml(text) {
    // Leaflet inserts attributions as HTML; the setting is plain text.
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function clamp(value, limit) {
    return Math.max(-limit, Math.min(limit, value));
  }

  function setup(root) {
    var L = window.L;
    var canvas = root.querySelector("[data-public-map-canvas]");
    var status = root.querySelector("[data-public-map-status]");
    if (!canvas || !status || !L || !window.fetch || !window.URLSearchParams) return;
    var data = root.dataset;

    root.hidden = false;
    document.documentElement.classList.add("public-map-active");

    var map = L.map(canvas, {
      zoomControl: false,
      scrollWheelZoom: false, // only while the map has focus: no hijacked page scrolling
      keyboard: true,
      zoomAnimation: !REDUCED,
      fadeAnimation: !REDUCED,
      markerZoomAnimation: !REDUCED,
      minZoom: 8,
      maxZoom: 19,
      zoomSnap: 0.5, // the region fills the map better than at whole zoom levels
    });
    L.control.zoom({ zoomInTitle: data.zoomIn || "+", zoomOutTitle: data.zoomOut || "-" }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
    canvas.addEventListener("focus", function () { map.scrollWheelZoom.enable(); });
    canvas.addEventListener("blur", function () { map.scrollWheelZoom.disable(); });

    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () { map.invalidateSize(); }).observe(canvas);
    }

    function say(text) {
      status.textContent = text || "";
    }

    // --- background tiles (optional) ------------------------------------------------------
    if (data.tiles) {
      var tileErrors = 0;
      var tileNoteShown = false;
      var tiles = L.tileLayer(data.tiles, {
        maxZoom: 19,
        attribution: data.attribution ? escapeHtml(data.attribution) : "",
        referrerPolicy: "strict-origin-when-cross-origin",
      });
      tiles.on("tileerror", function () {
        tileErrors += 1;
        if (!tileNoteShown && tileErrors >= TILE_ERRORS_BEFORE_NOTE) {
          tileNoteShown = true;
          root.classList.add("public-map-no-tiles");
          var note = el("p", "location-map-note", data.msgTiles);
          status.parentNode.insertBefore(note, status);
        }
      });
      tiles.addTo(map);
    }

    // --- the reports -------------------------------------------------------------------
    var reports = L.layerGroup().addTo(map);
    var ticket = 0;
    var timer = null;
    var lastQuery = "";

    function popupContent(p) {
      var box = el("div", "public-map-popup");
      box.tabIndex = -1;
      box.appendChild(el("h3", "", p.subject));
      box.appendChild(el("p", "", p.place));
      box.appendChild(el("p", "", p.status_label));
      box.appendChild(el("p", "", format(data.msgReported, { date: p.reported_label, age: p.age })));
      box.appendChild(el("p", "meta", format(data.msgReference, { reference: p.reference })));
      if (p.blurred) box.appendChild(el("p", "meta", data.msgRough));
      if (p.me_too && p.me_too.charAt(0) === "/") {
        var action = el("p", "public-map-action");
        var link = el("a", "button button-secondary", data.msgMeToo);
        link.href = p.me_too;
        link.appendChild(el("span", "visually-hidden", " " + p.reference));
        action.appendChild(link);
        box.appendChild(action);
      }
      return box;
    }

    function name(marker, label) {
      var node = marker.getElement();
      if (node) node.setAttribute("aria-label", label);
    }

    function reportMarker(at, p) {
      var label = format(data.msgReport, { subject: p.subject, place: p.place });
      var marker = L.marker(at, {
        icon: L.divIcon({
          className: "public-map-report" + (p.blurred ? " is-rough" : ""),
          html: el("span"),
          iconSize: [22, 22],
        }),
        keyboard: true,
        title: label,
        riseOnHover: true,
      });
      marker.on("add", function () { name(marker, label); });
      marker.bindPopup(function () { return popupContent(p); }, { autoPan: !REDUCED, maxWidth: 280 });
      marker.on("popupopen", function (event) {
        var node = event.popup.getElement();
        if (!node) return;
        var close = node.querySelector(".leaflet-popup-close-button");
        if (close && data.msgClose) {
          close.setAttribute("aria-label", data.msgClose);
          close.setAttribute("title", data.msgClose);
        }
        var content = node.querySelector(".public-map-popup");
        if (content) content.focus({ preventScroll: true });
        // Leaflet listens for Escape only while the map itself has focus.
        if (!node.hasAttribute("data-escape")) {
          node.setAttribute("data-escape", "");
          node.addEventListener("keydown", function (key) {
            if (key.key === "Escape" || key.key === "Esc") {
              key.preventDefault();
              key.stopPropagation();
              marker.closePopup();
            }
          });
        }
      });
      marker.on("popupclose", function (event) {
        var node = event.popup.getElement();
        var icon = marker.getElement();
        if (icon && node && (node.contains(document.activeElement) || document.activeElement === document.body)) {
          icon.focus({ preventScroll: true });
        }
      });
      return marker;
    }

    function clusterMarker(at, p) {
      var label = format(data.msgCluster, { count: p.count });
      var size = p.count < 10 ? 30 : p.count < 100 ? 36 : p.count < 1000 ? 44 : 52;
      var marker = L.marker(at, {
        icon: L.divIcon({
          className: "public-map-cluster",
          html: el("span", "", String(p.count)),
          iconSize: [size, size],
        }),
        keyboard: true,
        title: label,
        riseOnHover: true,
      });
      marker.on("add", function () { name(marker, label); });
      marker.on("click", function () {
        var b = p.bounds;
        var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
        var zoom = Math.min(map.getMaxZoom(), Math.max(map.getZoom() + 1, map.getBoundsZoom(bounds)));
        map.setView(bounds.getCenter(), zoom, { animate: !REDUCED });
        canvas.focus({ preventScroll: true }); // the marker is gone after the redraw
      });
      return marker;
    }

    // Markers that stay in the new answer are kept as they are: a keyboard user's focus and
    // an open report survive the map reading the view again.
    var shown = {};

    function draw(body) {
      var next = {};
      (body.features || []).forEach(function (feature) {
        var c = feature.geometry && feature.geometry.coordinates;
        var p = feature.properties || {};
        if (!c || c.length !== 2) return;
        var key = (p.cluster ? "c" + p.count : "r" + p.reference) + "@" + c[0] + "," + c[1];
        if (shown[key]) {
          next[key] = shown[key];
          return;
        }
        var at = L.latLng(c[1], c[0]);
        next[key] = p.cluster ? clusterMarker(at, p) : reportMarker(at, p);
        reports.addLayer(next[key]);
      });
      Object.keys(shown).forEach(function (key) {
        if (!next[key]) reports.removeLayer(shown[key]);
      });
      shown = next;
      var count = body.count || 0;
      if (body.clustered) say(format(data.msgClusters, { count: count }));
      else if (count === 0) say(data.msgNone);
      else if (count === 1) say(data.msgOne);
      else say(format(data.msgPoints, { count: count }));
    }

    function load() {
      var b = map.getBounds();
      var west = clamp(b.getWest(), 180), east = clamp(b.getEast(), 180);
      var south = clamp(b.getSouth(), 90), north = clamp(b.getNorth(), 90);
      if (!(west < east && south < north)) return;
      var params = new URLSearchParams();
      params.set("bbox", [west, south, east, north].map(function (v) { return v.toFixed(5); }).join(","));
      params.set("zoom", String(Math.round(map.getZoom())));
      if (data.municipality) params.set("municipality", data.municipality);
      if (data.category) params.set("category", data.category);
      var query = params.toString();
      if (query === lastQuery) return;
      lastQuery = query;
      var mine = ++ticket;
      fetch(data.url + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (body) {
          if (mine === ticket) draw(body);
        })
        .catch(function () {
          if (mine !== ticket) return;
          reports.clearLayers();
          shown = {};
          lastQuery = "";
          say(data.msgFailed);
        });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(load, 250);
    }

    // --- municipal boundaries: always drawn, and they set the first view -------------------
    fetch(data.boundaries, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (geojson) {
        var outline = L.geoJSON(geojson, {
          interactive: false,
          style: { color: "#0b4f6c", weight: 2, opacity: 0.9, fillColor: "#0b4f6c", fillOpacity: 0.04 },
        }).addTo(map);
        var bounds = outline.getBounds();
        if (data.municipality) {
          outline.eachLayer(function (layer) {
            var props = layer.feature && layer.feature.properties;
            if (props && props.code === data.municipality) bounds = layer.getBounds();
          });
        }
        if (!bounds.isValid()) throw new Error("no boundaries");
        map.fitBounds(bounds, { padding: [8, 8], animate: false });
        map.on("moveend", later);
        load();
      })
      .catch(function () {
        // Nothing to orient by: the list alone, as without JavaScript.
        map.remove();
        root.hidden = true;
        document.documentElement.classList.remove("public-map-active");
      });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-public-map]"), setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
