// custodia console: progressive enhancement only; every page works without this script.
// - Live updates: the node's event stream (GET /console/events, the session's cookie) tells
//   when a block changed something; the regions marked data-live are then fetched again and
//   replaced in place (the page keeps its focus and scroll).
// - A file chosen in an input with data-load-into="ID" is read into the textarea ID.
(function () {
  "use strict";

  function liveRegions() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live][id]"));
  }

  var refreshing = false;
  var again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        liveRegions().forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (next && next.innerHTML !== region.innerHTML && !region.contains(document.activeElement)) {
            region.innerHTML = next.innerHTML;
          }
        });
      })
      .catch(function () { /* the next block tries again */ })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function setState(text) {
    var state = document.getElementById("live-state");
    if (state) { state.textContent = text; }
  }

  function follow() {
    if (!window.EventSource || liveRegions().length === 0) { return; }
    var source = new EventSource("/console/events");
    var timer = null;
    source.addEventListener("open", function () { setState("Live: follows every new block."); });
    source.addEventListener("error", function () { setState("Live updates paused; reload to see changes."); });
    source.addEventListener("block", function (event) {
      var block;
      try { block = JSON.parse(event.data); } catch (e) { return; }
      document.querySelectorAll("[data-height]").forEach(function (el) { el.textContent = String(block.height); });
      if (block.txs && block.txs.length > 0) {
        if (timer) { clearTimeout(timer); }
        timer = setTimeout(refresh, 250);
      }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function fileLoaders() {
    document.querySelectorAll("input[type=file][data-load-into]").forEach(function (input) {
      input.addEventListener("change", function () {
        var target = document.getElementById(input.getAttribute("data-load-into"));
        var file = input.files && input.files[0];
        if (!target || !file) { return; }
        file.text().then(function (text) { target.value = text; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    follow();
    fileLoaders();
  });
})();
