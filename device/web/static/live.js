// The live view: the recorder's own fragmented MP4 through Media Source Extensions when the
// browser can play it, else (or when it stops) a JPEG refresh that fetches the next picture only
// once the last one has arrived, so a slow connection gets fewer pictures instead of a queue.
(function () {
  "use strict";
  var img = document.getElementById("live");
  var video = document.getElementById("live-video");
  var kind = document.getElementById("live-kind");
  var every = parseInt(img.dataset.refreshMs, 10) || 500;
  var n = 0, refreshing = false, timer = null;

  function next() {
    if (!refreshing) { return; }
    var probe = new Image();
    probe.onload = function () { img.src = probe.src; timer = setTimeout(next, every); };
    probe.onerror = function () { timer = setTimeout(next, Math.max(every, 2000)); };
    probe.src = "/live.jpg?n=" + (n++);
  }
  function pictures() {
    if (refreshing) { return; }
    refreshing = true;
    video.hidden = true; img.hidden = false;
    if (img.dataset.video === "try") { kind.textContent = "Picture refresh"; }
    timer = setTimeout(next, every);
  }
  function liveVideo(type) {
    var source = new MediaSource();
    var queue = [], buffer = null, failed = false;
    function fail() { if (!failed) { failed = true; pictures(); } }
    function pump() { if (buffer && !buffer.updating && queue.length) { buffer.appendBuffer(queue.shift()); } }
    video.src = URL.createObjectURL(source);
    source.addEventListener("sourceopen", function () {
      buffer = source.addSourceBuffer(type);
      buffer.addEventListener("error", fail);
      buffer.addEventListener("updateend", function () {
        var b = buffer.buffered;
        if (b.length) {
          var end = b.end(b.length - 1);
          if (video.currentTime < b.start(0) || end - video.currentTime > 3) { video.currentTime = Math.max(b.start(0), end - 0.3); }
          if (end - b.start(0) > 30) { buffer.remove(b.start(0), end - 10); return; }
        }
        pump();
      });
      fetch("/live/video.mp4", {credentials: "same-origin"}).then(function (r) {
        if (!r.ok || !r.body) { throw new Error("no live video"); }
        var reader = r.body.getReader();
        function read() {
          return reader.read().then(function (part) {
            if (part.done) { fail(); return; }
            queue.push(part.value); pump(); return read();
          });
        }
        return read();
      }).catch(fail);
    });
    video.addEventListener("playing", function () {
      refreshing = false; clearTimeout(timer);
      img.hidden = true; video.hidden = false;
      kind.innerHTML = 'Live video (<a href="/live?jpeg=1">picture refresh instead</a>)';
    });
    video.play().catch(function () {});
  }
  function tryVideo() {
    if (img.dataset.video !== "try" || !window.MediaSource) { return false; }
    fetch("/live/codec", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (info) {
        var type = info && 'video/mp4; codecs="' + info.codec + '"';
        if (type && MediaSource.isTypeSupported(type)) { liveVideo(type); } else { pictures(); }
      })
      .catch(pictures);
    return true;
  }
  // Zones and masks drawn over the picture, on request.
  var overlay = document.getElementById("live-overlay");
  var toggle = document.getElementById("show-zones");
  var shapes = JSON.parse(document.getElementById("polygons").textContent);
  function drawOverlay() {
    var shown = video.hidden ? img : video;
    overlay.hidden = !toggle.checked;
    if (!toggle.checked) { return; }
    var w = overlay.width = shown.clientWidth, h = overlay.height = shown.clientHeight;
    overlay.style.width = w + "px"; overlay.style.height = h + "px";
    var g = overlay.getContext("2d");
    g.lineWidth = 2;
    function path(p) {
      g.beginPath();
      p.points.forEach(function (pt, i) { (i ? g.lineTo : g.moveTo).call(g, pt[0] * w, pt[1] * h); });
      g.closePath();
    }
    shapes.motion_zones.forEach(function (p) { path(p); g.fillStyle = "rgba(11,95,255,0.2)"; g.fill(); g.strokeStyle = "#0b5fff"; g.stroke(); });
    shapes.privacy_masks.forEach(function (p) { path(p); g.strokeStyle = "#ffcc00"; g.stroke(); });
  }
  toggle.addEventListener("change", drawOverlay);
  window.addEventListener("resize", drawOverlay);
  video.addEventListener("playing", drawOverlay);

  pictures();  // pictures until the video plays
  tryVideo();

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
