"""The catalogue's stylesheet and search script, written beside its pages (no CDN, no
network: the site opens from a folder or a file:// URL)."""

from __future__ import annotations

CSS = """\
:root { --ink: #1b1f23; --muted: #4f5b66; --line: #d0d7de; --accent: #0b5cad;
  --absolute: #a4000f; --relative: #8a4b00; --precaution: #35577a; --bg: #ffffff;
  --soft: #f3f5f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
a:focus, input:focus { outline: 3px solid #ffbf47; outline-offset: 1px; }
header.site { background: #12324f; color: #fff; padding: 0.6rem 1.2rem; }
header.site a { color: #fff; }
header.site .brand { font-weight: 700; margin-right: 1rem; }
nav.sections { display: inline-flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; }
nav.sections a[aria-current="page"] { text-decoration: underline 3px; }
.search { margin-top: 0.5rem; position: relative; max-width: 40rem; }
.search label { display: block; font-size: 0.9rem; }
.search input { width: 100%; padding: 0.45rem 0.6rem; font-size: 1rem; border-radius: 4px;
  border: 1px solid #8899aa; }
#search-results { list-style: none; margin: 0; padding: 0; background: #fff; color: var(--ink);
  position: absolute; left: 0; right: 0; z-index: 5; max-height: 26rem; overflow-y: auto;
  box-shadow: 0 6px 18px rgba(0,0,0,0.25); border-radius: 0 0 4px 4px; }
#search-results li a { display: block; padding: 0.35rem 0.6rem; color: var(--ink);
  text-decoration: none; border-bottom: 1px solid var(--soft); }
#search-results li a:hover, #search-results li a:focus { background: var(--soft); }
#search-results .kind { font-size: 0.8rem; color: var(--muted); margin-right: 0.4rem; }
main { padding: 1rem 1.2rem 3rem; max-width: 72rem; }
h1 { margin-top: 0.4rem; }
article.entry { border: 1px solid var(--line); border-radius: 6px; padding: 0.7rem 1rem;
  margin: 0 0 1rem; }
article.entry:target { border-color: var(--accent); box-shadow: 0 0 0 3px #cfe3f7; }
article.entry h3 { margin: 0 0 0.3rem; }
dl.fields { display: grid; grid-template-columns: minmax(9rem, 14rem) 1fr; gap: 0.2rem 1rem;
  margin: 0.4rem 0; }
dl.fields dt { font-weight: 600; color: var(--muted); }
dl.fields dd { margin: 0; }
code { background: var(--soft); padding: 0 0.25rem; border-radius: 3px; }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 3px; font-size: 0.85rem;
  font-weight: 600; border: 1px solid currentColor; margin-right: 0.3rem; }
.sev-absolute { color: var(--absolute); }
.sev-relative { color: var(--relative); }
.sev-precaution { color: var(--precaution); }
.status-draft { color: var(--relative); }
.status-retired { color: var(--muted); }
.status-reviewed { color: #1f6f3f; }
table { border-collapse: collapse; margin: 0.4rem 0; }
th, td { border: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left;
  vertical-align: top; }
th { background: var(--soft); }
ul.compact { margin: 0.2rem 0; padding-left: 1.2rem; }
.where { color: var(--muted); font-size: 0.85rem; }
footer.site { border-top: 1px solid var(--line); padding: 0.8rem 1.2rem; color: var(--muted);
  font-size: 0.9rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: #fff; color: var(--ink); padding: 0.3rem;
  z-index: 10; }
@media print {
  header.site, .search, .skip { display: none; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  article.entry { break-inside: avoid; border-color: #999; }
  a { color: var(--ink); text-decoration: none; }
  a.external:not(.bare)::after { content: " <" attr(href) ">"; font-size: 0.85em;
    word-break: break-all; }
}
"""

JS = """\
(function () {
  "use strict";
  var input = document.getElementById("search");
  var list = document.getElementById("search-results");
  var data = document.getElementById("search-index");
  if (!input || !list || !data) { return; }
  var index = JSON.parse(data.textContent);
  var base = document.body.getAttribute("data-base") || "";
  function show(query) {
    list.textContent = "";
    var words = query.toLowerCase().split(/\\s+/).filter(Boolean);
    var status = document.getElementById("search-status");
    if (!words.length) { status.textContent = ""; return; }
    var found = 0;
    for (var i = 0; i < index.length && found < 40; i++) {
      var e = index[i];
      var text = e.t.toLowerCase();
      if (!words.every(function (w) { return text.indexOf(w) >= 0; })) { continue; }
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = base + e.u;
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = e.k;
      a.appendChild(kind);
      a.appendChild(document.createTextNode(e.n));
      li.appendChild(a);
      list.appendChild(li);
      found++;
    }
    if (!found) {
      var none = document.createElement("li");
      none.textContent = "Nothing matches \\u201c" + query + "\\u201d.";
      none.style.padding = "0.35rem 0.6rem";
      list.appendChild(none);
    }
    status.textContent = found + (found === 1 ? " result" : " results");
  }
  input.addEventListener("input", function () { show(input.value); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { input.value = ""; show(""); }
    if (ev.key === "ArrowDown") {
      var first = list.querySelector("a");
      if (first) { ev.preventDefault(); first.focus(); }
    }
  });
})();
"""
