(function () {
  "use strict";
  var node = document.getElementById("page-data");
  var data = JSON.parse(node ? node.textContent : "{}");
  var S = data.strings || {};

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var text = cell ? cell.textContent.trim() : "";
    if (!numeric) { return text; }
    var value = parseFloat(text);
    return isNaN(value) ? -Infinity : value;
  }

  Array.prototype.forEach.call(document.querySelectorAll("div.tablewrap"), function (wrap) {
    var table = wrap.querySelector("table");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var input = wrap.querySelector("input.filter");
    var select = wrap.querySelector("select.filter-col");
    var counter = wrap.querySelector(".count");
    function apply() {
      var query = input ? input.value.trim().toLowerCase() : "";
      var wanted = select ? select.value : "";
      var column = select ? parseInt(select.getAttribute("data-col"), 10) : -1;
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (!query || row.textContent.toLowerCase().indexOf(query) >= 0) &&
          (!wanted || (row.cells[column] && row.cells[column].textContent.trim() === wanted));
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (counter) { counter.textContent = (S.rows || "") + ": " + shown + " / " + rows.length; }
    }
    if (input) { input.addEventListener("input", apply); }
    if (select) { select.addEventListener("change", apply); }
    var headers = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
    headers.forEach(function (th, index) {
      th.tabIndex = 0;
      th.title = S.sort || "";
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var numeric = th.getAttribute("data-type") === "num";
        var keyed = rows.map(function (row, position) {
          return { row: row, value: cellValue(row, index, numeric), position: position };
        });
        keyed.sort(function (a, b) {
          var d;
          if (numeric) { d = a.value === b.value ? 0 : (a.value < b.value ? -1 : 1); }
          else { d = a.value.localeCompare(b.value, undefined, { numeric: true }); }
          if (!ascending) { d = -d; }
          return d !== 0 ? d : a.position - b.position;
        });
        rows = keyed.map(function (k) { return k.row; });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
    apply();
  });

  var list = document.getElementById("map-items");
  var hint = document.getElementById("map-hint");
  var clusters = (data.map && data.map.clusters) || [];
  // like the report's server-side bidi filter: values are RTL only when their
  // first strong character is, so numbers and paths never reorder
  var RTL_FIRST = /^[^A-Za-z\u00C0-\u024F\u0370-\u04FF]*[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
  function line(parent, text, className) {
    var span = document.createElement("bdi");
    span.textContent = text;
    span.setAttribute("dir", RTL_FIRST.test(text) ? "rtl" : "ltr");
    if (className) { span.className = className; }
    parent.appendChild(span);
    parent.appendChild(document.createElement("br"));
  }
  Array.prototype.forEach.call(document.querySelectorAll("svg.map .pt"), function (point) {
    function show() {
      var cluster = clusters[parseInt(point.getAttribute("data-cluster"), 10)];
      if (!cluster || !list) { return; }
      Array.prototype.forEach.call(document.querySelectorAll("svg.map .pt.active"), function (other) {
        other.classList.remove("active");
      });
      point.classList.add("active");
      if (hint) {
        hint.textContent = cluster.lat + ", " + cluster.lon + " (" + cluster.count + ")";
        hint.setAttribute("dir", "ltr");
      }
      while (list.firstChild) { list.removeChild(list.firstChild); }
      cluster.items.forEach(function (item) {
        var li = document.createElement("li");
        var locator = document.createElement("bdi");
        locator.setAttribute("dir", "ltr");
        locator.className = "loc";
        locator.textContent = item.locator;
        li.appendChild(locator);
        li.appendChild(document.createElement("br"));
        line(li, item.evidence_id + " · " + item.source);
        if (item.time) { line(li, item.time); }
        if (item.camera) { line(li, item.camera); }
        line(li, item.lat + ", " + item.lon);
        list.appendChild(li);
      });
    }
    point.addEventListener("click", show);
    point.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(); }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("img.thumb"), function (image) {
    image.title = S.reveal || "";
    image.addEventListener("click", function () { image.classList.toggle("revealed"); });
  });
}());
