// Draw polygons over a fresh picture; the textarea holds the same polygons as JSON, so the
// keyboard can do everything the mouse can. Saving goes through the device's validation.
(function () {
  "use strict";
  var all = JSON.parse(document.getElementById("current").textContent);
  var kind = document.getElementById("kind");
  var nameInput = document.getElementById("name");
  var img = document.getElementById("snapshot");
  var canvas = document.getElementById("draw");
  var text = document.getElementById("polygons");
  var result = document.getElementById("result");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var points = [];

  function polygons() { return all[kind.value]; }
  function sync() { text.value = JSON.stringify(polygons(), null, 1); draw(); }
  function draw() {
    var w = canvas.width = canvas.clientWidth, h = canvas.height = canvas.clientHeight;
    var g = canvas.getContext("2d");
    g.clearRect(0, 0, w, h);
    g.lineWidth = 2;
    polygons().forEach(function (p) {
      g.beginPath();
      p.points.forEach(function (pt, i) { (i ? g.lineTo : g.moveTo).call(g, pt[0] * w, pt[1] * h); });
      g.closePath();
      g.fillStyle = kind.value === "privacy_masks" ? "rgba(0,0,0,0.5)" : "rgba(11,95,255,0.25)";
      g.fill(); g.strokeStyle = "#ffcc00"; g.stroke();
    });
    g.strokeStyle = "#ff3860";
    g.beginPath();
    points.forEach(function (pt, i) { (i ? g.lineTo : g.moveTo).call(g, pt[0] * w, pt[1] * h); });
    g.stroke();
    points.forEach(function (pt) { g.fillStyle = "#ff3860"; g.fillRect(pt[0] * w - 3, pt[1] * h - 3, 6, 6); });
  }
  canvas.addEventListener("click", function (ev) {
    var r = canvas.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    var y = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
    points.push([Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4]);
    draw();
  });
  document.getElementById("close").addEventListener("click", function () {
    if (points.length < 3) { result.textContent = "A polygon needs at least 3 corners."; return; }
    polygons().push({name: nameInput.value || "area", points: points});
    points = [];
    sync();
  });
  document.getElementById("undo").addEventListener("click", function () { points.pop(); draw(); });
  document.getElementById("clear").addEventListener("click", function () { all[kind.value] = []; points = []; sync(); });
  kind.addEventListener("change", function () { points = []; sync(); });
  text.addEventListener("change", function () {
    try { all[kind.value] = JSON.parse(text.value); result.textContent = ""; draw(); }
    catch (e) { result.textContent = "Not valid JSON: " + e.message; }
  });
  document.getElementById("save").addEventListener("click", function () {
    result.textContent = "Saving…";
    fetch("/zones", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({kind: kind.value, polygons: polygons()})
    }).then(function (r) { return r.json(); }).then(function (a) {
      result.textContent = a.ok ? "Saved and applied." : "Refused: " + a.error;
      result.className = a.ok ? "ok" : "error";
      if (a.ok) { img.src = "/live.jpg?after-save=" + Date.now(); }
    }).catch(function (e) { result.textContent = "Not saved: " + e; result.className = "error"; });
  });
  img.addEventListener("load", draw);
  window.addEventListener("resize", draw);
  sync();
})();
