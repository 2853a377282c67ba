(function () {
  "use strict";
  var box = document.getElementById("filter");
  var toggles = Array.prototype.slice.call(document.querySelectorAll("input[data-status]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("button.card[data-status]"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.result"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var shown = document.getElementById("shown");
  var none = document.getElementById("none");
  var initial = document.body.getAttribute("data-initial").split(",");

  /* The filter state lives in the URL, #status=fail,warn&q=team-a: shareable, kept over a reload. */
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var statuses = params.has("status") ? params.get("status").split(",").filter(Boolean) : initial;
    toggles.forEach(function (t) { t.checked = statuses.indexOf(t.getAttribute("data-status")) !== -1; });
    box.value = params.get("q") || "";
  }
  function writeHash() {
    var on = toggles.filter(function (t) { return t.checked; }).map(function (t) {
      return t.getAttribute("data-status");
    });
    var params = new URLSearchParams();
    params.set("status", on.join(","));
    if (box.value) { params.set("q", box.value); }
    history.replaceState(null, "", "#" + params.toString());
  }
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var on = {};
    toggles.forEach(function (t) { on[t.getAttribute("data-status")] = t.checked; });
    cards.forEach(function (c) { c.setAttribute("aria-pressed", String(on[c.getAttribute("data-status")] === true)); });
    var n = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var ok = on[row.getAttribute("data-status")] === true &&
        words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    groups.forEach(function (g) { g.hidden = g.querySelector("tr.result:not([hidden])") === null; });
    shown.textContent = String(n);
    none.hidden = n !== 0;
  }
  function changed() { writeHash(); apply(); }
  box.addEventListener("input", changed);
  toggles.forEach(function (t) { t.addEventListener("change", changed); });
  cards.forEach(function (c) {  /* a card toggles its status, as its checkbox does */
    c.addEventListener("click", function () {
      var t = toggles.filter(function (x) { return x.getAttribute("data-status") === c.getAttribute("data-status"); })[0];
      t.checked = !t.checked;
      changed();
    });
  });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
}());
