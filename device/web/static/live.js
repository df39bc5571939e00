// The live picture: fetch the next JPEG only once the last one has arrived, so a slow
// connection gets fewer pictures instead of a queue of them.
(function () {
  "use strict";
  var img = document.getElementById("live");
  var every = parseInt(img.dataset.refreshMs, 10) || 500;
  var n = 0;
  function next() {
    var probe = new Image();
    probe.onload = function () { img.src = probe.src; setTimeout(next, every); };
    probe.onerror = function () { setTimeout(next, Math.max(every, 2000)); };
    probe.src = "/live.jpg?n=" + (n++);
  }
  setTimeout(next, every);

  function show(h) {
    var set = function (key, text) {
      var el = document.querySelector('#health [data-key="' + key + '"]');
      if (el) { el.textContent = text; }
    };
    set("broker_connected", h.broker_connected ? "connected" : "NOT connected");
    set("outbox_backlog", String(h.outbox_backlog));
    set("disk_used_pct", h.disk_used_pct + " %");
    set("fps", String(h.fps));
    set("dropped", h.dropped_camera + " / " + h.dropped_analysis + " / " + h.dropped_recording);
    set("recording", h.recording);
  }
  function health() {
    fetch("/api/health", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (h) { if (h) { show(h); } })
      .finally(function () { setTimeout(health, 2000); });
  }
  health();
})();
