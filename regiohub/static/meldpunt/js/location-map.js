/*
 * Meldpunt location map: progressive enhancement of the report form (and a read-only map on
 * the staff report page). Markup: meldpunt/templates/meldpunt/includes/location_map.html.
 *
 * Without JavaScript the container stays hidden and the form's address and latitude/longitude
 * inputs do the job. With it: a Leaflet map, the municipal boundaries always drawn (so the map
 * stays usable when the background tiles fail), and in editable mode one draggable marker that
 * is kept in sync with #id_latitude / #id_longitude. Every visible string comes from the
 * data-msg-* attributes (translated in the template). Plain ES2017, CSP-safe: no inline styles
 * as attributes, no eval.
 */
(function () {
  "use strict";

  var DECIMALS = 6;
  var TILE_ERRORS_BEFORE_NOTE = 3;
  var POINT_ZOOM = 17;

  function parseCoordinate(value, limit) {
    if (value === undefined || value === null) return null;
    var text = String(value).trim().replace(",", ".");
    if (text === "") return null;
    var number = Number(text);
    if (!isFinite(number) || Math.abs(number) > limit) return null;
    return number;
  }

  function parsePoint(lat, lng) {
    var la = parseCoordinate(lat, 90);
    var lo = parseCoordinate(lng, 180);
    return la === null || lo === null ? null : L.latLng(la, lo);
  }

  function escapeHtml(text) {
    // Leaflet inserts attributions as HTML; the setting is plain text.
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function markerIcon(data) {
    return L.icon({
      iconUrl: data.icon,
      iconRetinaUrl: data.iconRetina,
      shadowUrl: data.iconShadow,
      iconSize: [25, 41],
      iconAnchor: [12, 41],
      popupAnchor: [1, -34],
      tooltipAnchor: [16, -28],
      shadowSize: [41, 41],
    });
  }

  function setup(root) {
    if (root.hasAttribute("data-location-map-ready")) return;
    root.setAttribute("data-location-map-ready", "");
    var data = root.dataset;
    var editable = data.editable === "true";
    var canvas = root.querySelector("[data-location-map-canvas]");
    var messages = root.querySelector("[data-location-map-messages]");
    var help = root.querySelector("[data-location-map-help]");
    var locateButton = root.querySelector("[data-location-map-locate]");
    if (!canvas || typeof window.L === "undefined") return;
    // The Leaflet this map was made with. A page with two maps includes leaflet.js twice,
    // and the second copy replaces window.L: mixing objects of both copies breaks
    // Leaflet's instanceof checks ("Bounds are not valid").
    var L = window.L;

    var latInput = null;
    var lngInput = null;
    var form = null;
    if (editable) {
      latInput = document.getElementById(data.latInput || "id_latitude");
      lngInput = document.getElementById(data.lngInput || "id_longitude");
      if (!latInput || !lngInput) return; // nothing to write to: keep the plain form
      form = latInput.form || root.closest("form");
    }

    // Ids for aria-describedby, unique even with several maps on a page.
    setup.count = (setup.count || 0) + 1;
    if (help) {
      help.id = help.id || "location-map-help-" + setup.count;
      canvas.setAttribute("aria-describedby", help.id);
    }

    root.hidden = false;
    if (form) form.classList.add("js-map-active");

    var map = L.map(canvas, {
      zoomControl: false,
      scrollWheelZoom: false, // enabled while the map has focus: no hijacked page scrolling
      keyboard: true,
    });
    L.control.zoom({ zoomInTitle: data.zoomIn || "+", zoomOutTitle: data.zoomOut || "-" }).addTo(map);
    map.attributionControl.setPrefix(
      '<a href="https://leafletjs.com" hreflang="en">Leaflet</a>'
    );

    var icon = markerIcon(data);
    var marker = null;
    var statusLine = null;
    var tileNoteShown = false;
    var tileErrors = 0;
    var ready = false; // true once the map has a view

    function say(text, persistent) {
      if (!text || !messages) return;
      var line = document.createElement("p");
      line.className = persistent ? "location-map-note" : "location-map-status";
      line.textContent = text;
      if (persistent) {
        messages.insertBefore(line, messages.firstChild);
        return;
      }
      if (statusLine) statusLine.remove();
      statusLine = line;
      messages.appendChild(line);
    }

    // --- view ---------------------------------------------------------------------------
    var start = null;
    if (editable) start = parsePoint(latInput.value, lngInput.value);
    if (!start) start = parsePoint(data.lat, data.lng);
    if (start) {
      map.setView(start, POINT_ZOOM);
      ready = true;
    }

    var resizeObserver = null;
    if (typeof ResizeObserver !== "undefined") {
      resizeObserver = new ResizeObserver(function () {
        map.invalidateSize();
      });
      resizeObserver.observe(canvas);
    }

    // --- background tiles (optional) ----------------------------------------------------
    if (data.tiles) {
      var tiles = L.tileLayer(data.tiles, {
        maxZoom: 19,
        attribution: data.attribution ? escapeHtml(data.attribution) : "",
        // The site sends no Referer ("same-origin"); tile servers such as OpenStreetMap's
        // require one. The origin alone is enough and reveals no page address.
        referrerPolicy: "strict-origin-when-cross-origin",
      });
      tiles.on("tileerror", function () {
        tileErrors += 1;
        if (!tileNoteShown && tileErrors >= TILE_ERRORS_BEFORE_NOTE) {
          tileNoteShown = true;
          root.classList.add("location-map-no-tiles");
          say(data.msgTiles, true);
        }
      });
      tiles.addTo(map);
    }

    // --- municipal boundaries: always drawn ---------------------------------------------
    function giveUp() {
      // No boundaries and no point: nothing sensible to show. Back to the plain form.
      if (resizeObserver) resizeObserver.disconnect();
      map.remove();
      root.hidden = true;
      if (form) form.classList.remove("js-map-active");
    }

    var outlines = null;

    if (data.boundaries) {
      fetch(data.boundaries, {
        credentials: "same-origin",
        headers: { Accept: "application/geo+json, application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (geojson) {
          var outline = L.geoJSON(geojson, {
            interactive: false,
            style: {
              color: "#0b4f6c",
              weight: 2,
              opacity: 0.9,
              fillColor: "#0b4f6c",
              fillOpacity: 0.04,
            },
          }).addTo(map);
          outlines = outline;
          var bounds = outline.getBounds();
          if (!ready) {
            if (!bounds.isValid()) throw new Error("empty boundaries");
            // A map for one municipality's report opens on that municipality.
            if (data.municipality) {
              outline.eachLayer(function (layer) {
                var props = layer.feature && layer.feature.properties;
                if (props && props.code === data.municipality) bounds = layer.getBounds();
              });
            }
            map.fitBounds(bounds, { padding: [8, 8] });
            ready = true;
          }
        })
        .catch(function () {
          if (!ready) giveUp();
        });
    } else if (!ready) {
      giveUp();
      return;
    }

    // --- focus: keyboard ring + centre crosshair (CSS), wheel zoom only while focused -----
    // Leaflet focuses the map itself on every mouse press, which makes :focus-visible match;
    // the class marks keyboard focus only, so the crosshair and ring follow the keyboard.
    canvas.addEventListener("focus", function () {
      map.scrollWheelZoom.enable();
      canvas.classList.toggle("location-map-keyboard", lastInput !== "pointer");
    });
    canvas.addEventListener("blur", function () {
      map.scrollWheelZoom.disable();
      canvas.classList.remove("location-map-keyboard");
    });
    canvas.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") canvas.classList.add("location-map-keyboard");
    });
    canvas.addEventListener("pointerdown", function () {
      canvas.classList.remove("location-map-keyboard");
    });

    if (!editable) {
      if (start) {
        L.marker(start, {
          icon: icon,
          alt: data.markerAlt || "",
          keyboard: false,
          interactive: false,
        }).addTo(map);
      }
      return;
    }

    // --- editable: marker <-> inputs -----------------------------------------------------
    var writing = false;

    function writeInputs(latlng) {
      writing = true;
      try {
        [
          [latInput, latlng.lat],
          [lngInput, latlng.lng],
        ].forEach(function (pair) {
          pair[0].value = pair[1].toFixed(DECIMALS);
          pair[0].dispatchEvent(new Event("input", { bubbles: true }));
          pair[0].dispatchEvent(new Event("change", { bubbles: true }));
        });
      } finally {
        writing = false;
      }
    }

    function showMarker(latlng) {
      if (marker) {
        marker.setLatLng(latlng);
        return;
      }
      marker = L.marker(latlng, {
        icon: icon,
        alt: data.markerAlt || "",
        draggable: true,
        keyboard: false, // a keyboard user moves the map and presses Enter instead
        autoPan: true,
      }).addTo(map);
      marker.on("dragend", function () {
        var moved = marker.getLatLng().wrap();
        writeInputs(moved);
        markedOnMap();
        say(data.msgPlaced);
        describe(moved);
      });
    }

    // The form keeps how the point was found: a tap or a drag is "map" (no register id).
    function markedOnMap() {
      if (!form) return;
      var source = form.querySelector("[name=location_source]");
      var registerId = form.querySelector("[name=address_register_id]");
      if (source) source.value = "map";
      if (registerId) registerId.value = "";
    }

    // Name the street of the chosen point (when the site looks addresses up), so the
    // citizen sees that the tap landed where they meant.
    var describing = 0;
    function describe(latlng) {
      if (!data.describe || !window.fetch) return;
      var ticket = ++describing;
      var query = "?lat=" + latlng.lat.toFixed(DECIMALS) + "&lng=" + latlng.lng.toFixed(DECIMALS);
      fetch(data.describe + query, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (body) {
          if (ticket !== describing) return;
          if (body.place && body.place.label) {
            say((data.msgNear || "%(place)s").replace("%(place)s", body.place.label));
          } else if (body.municipality) {
            say((data.msgIn || "%(place)s").replace("%(place)s", body.municipality));
          }
        })
        .catch(function () {});
    }

    function place(latlng) {
      latlng = latlng.wrap();
      showMarker(latlng);
      writeInputs(latlng);
      markedOnMap();
      say(data.msgPlaced);
      describe(latlng);
    }

    if (start) showMarker(start);

    map.on("click", function (event) {
      place(event.latlng);
    });

    canvas.addEventListener("keydown", function (event) {
      if (event.target !== canvas || !ready) return;
      if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        place(map.getCenter());
      }
    });

    function onInputChange() {
      if (writing) return;
      var point = parsePoint(latInput.value, lngInput.value);
      if (!point) {
        if (marker && latInput.value === "" && lngInput.value === "") {
          marker.remove();
          marker = null;
        }
        return;
      }
      showMarker(point);
      if (ready) {
        // A point chosen elsewhere (an address, a photo) is shown close enough to check it.
        map.setView(point, Math.max(map.getZoom(), POINT_ZOOM - 1));
      } else {
        map.setView(point, POINT_ZOOM);
        ready = true;
      }
    }
    latInput.addEventListener("change", onInputChange);
    lngInput.addEventListener("change", onInputChange);

    // --- the map opens where the problem probably is ---------------------------------------
    // On the municipality chosen in the form (as long as no point is marked) ...
    var municipality = form ? form.querySelector("select[name=municipality]") : null;
    if (municipality) {
      municipality.addEventListener("change", function () {
        if (marker || !outlines || !municipality.value) return;
        outlines.eachLayer(function (layer) {
          var props = layer.feature && layer.feature.properties;
          if (props && props.code === municipality.value) {
            map.fitBounds(layer.getBounds(), { padding: [8, 8] });
            ready = true;
          }
        });
      });
    }
    // ... or on the user's own location, when they allowed this site to know it before
    // (never asked for here: the "Use my location" button asks).
    if (!start && navigator.permissions && navigator.permissions.query && "geolocation" in navigator) {
      navigator.permissions.query({ name: "geolocation" }).then(function (status) {
        if (status.state !== "granted") return;
        navigator.geolocation.getCurrentPosition(function (position) {
          if (marker) return;
          map.setView(L.latLng(position.coords.latitude, position.coords.longitude), POINT_ZOOM);
          ready = true;
        }, function () {}, { maximumAge: 300000, timeout: 10000 });
      }).catch(function () {});
    }

    // --- "Use my location" ---------------------------------------------------------------
    if (locateButton && "geolocation" in navigator && window.isSecureContext !== false) {
      locateButton.hidden = false;
      var locating = false;
      locateButton.addEventListener("click", function () {
        if (locating) return;
        locating = true;
        locateButton.setAttribute("aria-busy", "true");
        say(data.msgLocating);
        navigator.geolocation.getCurrentPosition(
          function (position) {
            locating = false;
            locateButton.removeAttribute("aria-busy");
            var here = L.latLng(position.coords.latitude, position.coords.longitude);
            map.setView(here, Math.max(ready ? map.getZoom() : 0, POINT_ZOOM));
            ready = true;
            place(here);
          },
          function (error) {
            locating = false;
            locateButton.removeAttribute("aria-busy");
            say(error && error.code === 1 ? data.msgGeoDenied : data.msgGeoFailed);
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
    }
  }

  var lastInput = "keyboard";
  document.addEventListener("keydown", function () { lastInput = "keyboard"; }, true);
  document.addEventListener("pointerdown", function () { lastInput = "pointer"; }, true);
  document.addEventListener("mousedown", function () { lastInput = "pointer"; }, true);

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-location-map]"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
