// New and changed events arrive over server-sent events and are put at the top of the table.
(function () {
  "use strict";
  var table = document.getElementById("events");
  var body = table.tBodies[0];
  var day = table.dataset.day, type = table.dataset.type, label = table.dataset.label;
  var since = parseFloat(table.dataset.since) || 0;

  function matches(e) {
    if (type && e.type !== type) { return false; }
    if (label && e.label !== label) { return false; }
    if (day && e.start.slice(0, 10) !== day) { return false; }
    return true;
  }
  function cell(row, child) {
    var td = row.insertCell();
    if (typeof child === "string") { td.textContent = child; } else if (child) { td.appendChild(child); }
    return td;
  }
  function render(e) {
    var row = document.createElement("tr");
    row.id = "event-" + e.id;
    row.dataset.id = e.id;
    var pic = null;
    if (e.encrypted) {
      pic = document.createElement("span"); pic.className = "tag"; pic.textContent = "encrypted";
    } else if (e.thumbnail) {
      pic = document.createElement("img"); pic.src = e.thumbnail; pic.width = 160;
      pic.alt = e.type + " at " + e.start;
    }
    cell(row, pic);
    cell(row, e.start);
    cell(row, e.label && e.label !== "unknown" && e.label !== e.type ? e.type + ": " + e.label : e.type);
    cell(row, e.zones.length ? e.zones.join(", ") : "-");
    cell(row, String(e.score));
    var clips = cell(row, null);
    function link(id, text) {
      var a = document.createElement("a"); a.href = "/clips/" + id; a.textContent = text;
      if (clips.firstChild) { clips.appendChild(document.createTextNode(" ")); }
      clips.appendChild(a);
    }
    // a package's: the clip of its delivery, and of whoever took it
    if (e.clip_id) { link(e.clip_id, e.type === "package" ? "Delivery" : "Play"); }
    if (e.end_clip_id) { link(e.end_clip_id, "Taken"); }
    return row;
  }
  function arrived(e) {
    if (!matches(e)) { return; }
    var row = render(e);
    var old = document.getElementById(row.id);
    if (old) { old.replaceWith(row); } else { body.insertBefore(row, body.firstChild); }
    document.getElementById("no-events").hidden = true;
    if (e.start_wall > since) { since = e.start_wall; }
  }
  function connect() {
    var source = new EventSource("/events/stream?since=" + since);
    source.onmessage = function (m) { arrived(JSON.parse(m.data)); };
    source.onerror = function () { source.close(); setTimeout(connect, 1000); };
  }
  connect();
})();
