"""The review page of ``tokenclean report``: HTML, CSS and plain JavaScript, all ours.

``__TITLE__`` and ``__DATA__`` are replaced by :func:`tokenclean.review.build_page`.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --hit: #fff1a8;
        --focus: #0b5fff; --ok: #1a7f37; --no: #b42318; --other: #6f42c1; --bar: #8ab4f8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
h1 { font-size: 1.35rem; margin: 14px 0 2px; }
h2 { font-size: 1.05rem; margin: 14px 0 6px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.muted { color: var(--muted); }
#overview { display: grid; grid-template-columns: minmax(220px, 1fr) 3fr; gap: 16px; }
@media (max-width: 700px) { #overview { grid-template-columns: 1fr; } }
.bars { list-style: none; margin: 0; padding: 0; }
.bars li { margin: 0; }
.bars button { display: grid; grid-template-columns: minmax(5em, 14em) minmax(30px, 1fr) 3.5em; gap: 8px; width: 100%;
       align-items: center; text-align: left; background: none; border: 1px solid transparent;
       border-radius: 4px; padding: 0 4px; font: inherit; color: inherit; cursor: pointer; }
.bars button:hover { border-color: var(--line); }
.bars button[aria-pressed="true"] { border-color: var(--focus); font-weight: 600; }
.bars .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bars .bar { height: 12px; background: var(--bar); border-radius: 2px; min-width: 2px; }
.bars .n { text-align: right; font-variant-numeric: tabular-nums; }
#controls { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; padding: 8px 0;
            border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
#controls label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
#controls input, #controls select { font: inherit; color: var(--fg); padding: 3px 5px; }
button { font: inherit; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }
.toolbar button, .actions button { padding: 3px 10px; border: 1px solid #8c959f; border-radius: 5px;
       background: #f6f8fa; cursor: pointer; color: var(--fg); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
#issues { list-style: none; margin: 0; padding: 0; }
.issue { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px;
         padding: 8px 12px; margin: 8px 0; }
.issue.current { border-color: var(--focus); box-shadow: 0 0 0 2px var(--focus); }
.issue.d-accept { border-left-color: var(--ok); }
.issue.d-reject { border-left-color: var(--no); }
.issue.d-other { border-left-color: var(--other); }
.head { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .85rem; color: var(--muted); }
.head .cur { font-weight: 700; color: var(--focus); }
.sent { margin: 6px 0; font-size: 1.05rem; }
mark { background: var(--hit); color: inherit; text-decoration: underline 2px; padding: 0 2px;
       border-radius: 2px; font-weight: 600; }
.tags { margin: 4px 0; }
.tag { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .92em;
       background: #eff1f3; padding: 0 4px; border-radius: 3px; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: 6px; }
.actions input { font: inherit; width: 10em; padding: 2px 5px; }
.decision { font-weight: 600; margin: 4px 0 0; }
.decision.accept { color: var(--ok); } .decision.reject { color: var(--no); }
.decision.other { color: var(--other); }
.context { margin: 6px 0 0; padding: 6px 8px; background: #f6f8fa; border-radius: 4px; font-size: .93rem; }
.context p { margin: 2px 0; }
kbd { font: .8rem ui-monospace, monospace; border: 1px solid #8c959f; border-radius: 3px; padding: 0 3px; }
</style>
</head>
<body>
<header>
<h1>__TITLE__</h1>
<p id="summary" class="muted"></p>
</header>
<main>
<section aria-labelledby="overview-h">
<h2 id="overview-h">Issues by kind and by tag change</h2>
<div id="overview">
<div><h3 class="sr">By kind</h3><ul id="kinds" class="bars" aria-label="Issues by kind"></ul></div>
<div><h3 class="sr">By given and suggested tag</h3><ul id="pairs" class="bars" aria-label="Issues by given and suggested tag"></ul></div>
</div>
</section>
<section aria-labelledby="controls-h">
<h2 id="controls-h" class="sr">Filter and sort</h2>
<form id="controls" onsubmit="return false">
<label for="f-text">Text<input id="f-text" type="search" autocomplete="off"></label>
<label for="f-tag">Tag (given or suggested)<select id="f-tag"></select></label>
<label for="f-kind">Kind<select id="f-kind"></select></label>
<label for="f-pair">Tag change<select id="f-pair"></select></label>
<label for="f-decision">Decision<select id="f-decision">
<option value="">any</option><option value="none">undecided</option><option value="accept">accepted</option>
<option value="reject">rejected</option><option value="other">other tag</option></select></label>
<label for="sort">Sort<select id="sort"><option value="score">score, most suspect first</option>
<option value="-score">score, least suspect first</option><option value="file">file order</option></select></label>
<label for="who">Reviewer (optional)<input id="who" autocomplete="name"></label>
<button type="button" id="clear">Clear filters</button>
</form>
<div class="toolbar">
<button type="button" id="export">Export decisions</button>
<span id="decided" class="muted"></span>
<span class="muted">Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>a</kbd> accept, <kbd>r</kbd> reject,
<kbd>t</kbd> type another tag, <kbd>c</kbd> context, <kbd>u</kbd> clear decision</span>
</div>
<textarea id="export-json" hidden readonly aria-hidden="true"></textarea>
<p id="status" role="status" aria-live="polite"></p>
</section>
<section aria-labelledby="list-h">
<h2 id="list-h">Issues</h2>
<nav class="toolbar" aria-label="Pages">
<button type="button" id="prev-page">Previous page</button>
<span id="page-info"></span>
<button type="button" id="next-page">Next page</button>
</nav>
<ol id="issues"></ol>
</section>
</main>
<datalist id="tag-list"></datalist>
<script type="application/json" id="tokenclean-data">__DATA__</script>
<script>
"use strict";
(function () {
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("tokenclean-data").textContent);
  var PAGE = 50;
  var issues = D.issues, sentences = D.sentences, files = D.files, formats = D.formats;
  var KIND = 0, SENT = 1, START = 2, END = 3, GIVEN = 4, SUGG = 5, SCORE = 6, LINE = 7;
  var $ = function (id) { return document.getElementById(id); };
  var store = {};
  try { store = JSON.parse(localStorage.getItem(D.store) || "{}") || {}; } catch (e) { store = {}; }
  var view = [], cur = 0, page = 0, openContext = {};

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function key(i) {
    var it = issues[i], s = sentences[it[SENT]];
    return [files[s[0]], s[1], it[START], it[END], it[KIND], it[GIVEN]].join("|");
  }
  function pairOf(it) { return (it[GIVEN] === null ? "∅" : it[GIVEN]) + " → " + (it[SUGG] === null ? "∅" : it[SUGG]); }
  function save() { try { localStorage.setItem(D.store, JSON.stringify(store)); } catch (e) { /* private mode */ } }
  var textCache = {};
  function sentText(g) {
    var t = textCache[g];
    if (t === undefined) { t = textCache[g] = sentences[g][2].join(" ").toLowerCase(); }
    return t;
  }

  // --- counts and the chart ---
  function countBy(f) {
    var m = new Map();
    for (var i = 0; i < issues.length; i++) { var k = f(issues[i]); m.set(k, (m.get(k) || 0) + 1); }
    return Array.from(m.entries()).sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
  }
  var kinds = countBy(function (it) { return it[KIND]; });
  var pairs = countBy(pairOf);
  var pairKeys = issues.map(pairOf);
  // The three orders, sorted once: filtering then keeps the order without sorting again.
  var orders = {}, all = issues.map(function (_, i) { return i; });
  var sc = function (i) { var s = issues[i][SCORE]; return s === null ? Infinity : s; };
  orders.score = all.slice().sort(function (a, b) { return sc(a) - sc(b) || a - b; });
  orders["-score"] = all.slice().sort(function (a, b) { return sc(b) - sc(a) || a - b; });
  orders.file = all.slice().sort(function (a, b) { return issues[a][SENT] - issues[b][SENT] || issues[a][START] - issues[b][START] || a - b; });
  function fillSelect(sel, entries, anyLabel) {
    var h = '<option value="">' + esc(anyLabel) + "</option>";
    entries.forEach(function (e) { h += '<option value="' + esc(e[0]) + '">' + esc(e[0]) + " (" + e[1] + ")</option>"; });
    sel.innerHTML = h;
  }
  fillSelect($("f-kind"), kinds, "any");
  fillSelect($("f-pair"), pairs, "any");
  var tagCounts = new Map();
  issues.forEach(function (it) {
    [it[GIVEN], it[SUGG]].forEach(function (t) { if (t !== null) tagCounts.set(t, (tagCounts.get(t) || 0) + 1); });
  });
  fillSelect($("f-tag"), Array.from(tagCounts.entries()).sort(), "any");
  $("tag-list").innerHTML = D.tags.map(function (t) { return '<option value="' + esc(t) + '">'; }).join("");

  function bars(ul, entries, select, limit) {
    var max = entries.length ? entries[0][1] : 1, h = "";
    entries.slice(0, limit).forEach(function (e) {
      var on = select.value === e[0];
      h += '<li><button type="button" aria-pressed="' + on + '" data-value="' + esc(e[0]) + '" aria-label="' +
        esc(e[0]) + ": " + e[1] + " issues" + (on ? ", filtering" : "") + '"><span class="name">' + (on ? "▸ " : "") +
        esc(e[0]) + '</span><span class="bar" style="width:' + (100 * e[1] / max).toFixed(1) + '%"></span><span class="n">' +
        e[1] + "</span></button></li>";
    });
    if (entries.length > limit) { h += '<li class="muted">… ' + (entries.length - limit) + " more in the Tag change list</li>"; }
    ul.innerHTML = h;
  }
  function drawChart() { bars($("kinds"), kinds, $("f-kind"), 8); bars($("pairs"), pairs, $("f-pair"), 10); }
  function barClick(select) {
    return function (ev) {
      var b = ev.target.closest("button"); if (!b) return;
      var v = b.getAttribute("data-value");
      select.value = select.value === v ? "" : v;
      refilter();
    };
  }
  $("kinds").addEventListener("click", barClick($("f-kind")));
  $("pairs").addEventListener("click", barClick($("f-pair")));

  // --- filtering and sorting ---
  function decisionOf(i) { var d = store[key(i)]; return d ? d.d : "none"; }
  function refilter() {
    var text = $("f-text").value.trim().toLowerCase(), tag = $("f-tag").value, kind = $("f-kind").value;
    var pair = $("f-pair").value, dec = $("f-decision").value, sort = $("sort").value;
    var order = orders[sort] || orders.score, out = [];
    if (!text && !tag && !kind && !pair && !dec) out = order.slice();
    else for (var n = 0; n < order.length; n++) {
      var i = order[n], it = issues[i];
      if (kind && it[KIND] !== kind) continue;
      if (tag && it[GIVEN] !== tag && it[SUGG] !== tag) continue;
      if (pair && pairKeys[i] !== pair) continue;
      if (dec && decisionOf(i) !== dec) continue;
      if (text && sentText(it[SENT]).indexOf(text) < 0 && files[sentences[it[SENT]][0]].toLowerCase().indexOf(text) < 0) continue;
      out.push(i);
    }
    view = out; cur = 0; page = 0;
    drawChart(); render(false);
  }
  ["f-tag", "f-kind", "f-pair", "f-decision", "sort"].forEach(function (id) { $(id).addEventListener("change", function () { refilter(); }); });
  var typing = null;
  $("f-text").addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(refilter, 150); });
  $("clear").addEventListener("click", function () {
    ["f-text", "f-tag", "f-kind", "f-pair", "f-decision"].forEach(function (id) { $(id).value = ""; });
    refilter();
  });
  try { $("who").value = localStorage.getItem("tokenclean-reviewer") || ""; } catch (e) { /* no storage */ }
  $("who").addEventListener("change", function () { try { localStorage.setItem("tokenclean-reviewer", $("who").value); } catch (e) { /* ignore */ } });

  // --- rendering one page of issues ---
  function sentenceHtml(g, start, end) {
    var w = sentences[g][2], h = [];
    for (var t = 0; t < w.length; t++) {
      h.push((t === start ? "<mark>[[" : "") + esc(w[t]) + (t === end - 1 ? "]]</mark>" : ""));
    }
    return h.join(" ");
  }
  function neighbour(g, step) {
    var s = sentences[g], n = sentences[g + step];
    if (!n || n[0] !== s[0]) return "";
    return "<p><span class=\"muted\">" + (step < 0 ? "Before" : "After") + " (" + esc(files[n[0]]) + ":" + n[1] + "):</span> " + esc(n[2].join(" ")) + "</p>";
  }
  function decisionText(i) {
    var d = store[key(i)];
    if (!d) return "";
    var it = issues[i];
    if (d.d === "accept") return "✓ Accepted: " + (it[SUGG] === null ? "∅" : it[SUGG]);
    if (d.d === "reject") return "✗ Rejected: keep " + (it[GIVEN] === null ? "∅" : it[GIVEN]);
    return "✎ Other tag: " + d.tag;
  }
  function rowHtml(i, pos) {
    var it = issues[i], s = sentences[it[SENT]], d = store[key(i)];
    var loc = files[s[0]] + ":" + it[LINE] + (formats[s[0]] === "jsonl" ? " token " + it[START] : "");
    var given = it[GIVEN] === null ? "∅" : it[GIVEN], sugg = it[SUGG] === null ? "∅" : it[SUGG];
    var score = it[SCORE] === null ? "n/a" : Number(it[SCORE]).toPrecision(4);
    var words = s[2].slice(it[START], it[END]).join(" ");
    var isCur = pos === cur;
    var h = '<li class="issue' + (isCur ? " current" : "") + (d ? " d-" + d.d : "") + '" data-pos="' + pos +
      '" tabindex="-1" aria-labelledby="h' + i + '"' + (isCur ? ' aria-current="true"' : "") + ">";
    h += '<div class="head" id="h' + i + '"><span class="' + (isCur ? "cur" : "") + '">' + (isCur ? "▶ " : "") +
      "Issue " + (pos + 1) + " of " + view.length + "</span><span>" + esc(it[KIND]) + "</span><span>" + esc(loc) +
      "</span><span>score " + esc(score) + "</span></div>";
    h += '<p class="sent">' + sentenceHtml(it[SENT], it[START], it[END]) + "</p>";
    h += '<p class="tags">“' + esc(words) + '”: given <span class="tag">' + esc(given) + '</span> → suggested <span class="tag">' + esc(sugg) + "</span></p>";
    h += '<div class="actions" role="group" aria-label="Decision for issue ' + (pos + 1) + '">' +
      '<button type="button" data-act="accept">Accept ' + esc(sugg) + " <kbd>a</kbd></button>" +
      '<button type="button" data-act="reject">Reject <kbd>r</kbd></button>' +
      '<label>Other tag <input class="other" list="tag-list" aria-label="Other tag for issue ' + (pos + 1) + '" value="' +
      esc(d && d.d === "other" ? d.tag : "") + '"></label>' +
      '<button type="button" data-act="other">Set tag</button>' +
      '<button type="button" data-act="context" aria-expanded="' + (!!openContext[i]) + '">' + (openContext[i] ? "Hide" : "Show") + " context <kbd>c</kbd></button>" +
      (d ? '<button type="button" data-act="undo">Clear decision <kbd>u</kbd></button>' : "") + "</div>";
    h += '<p class="decision ' + (d ? d.d : "") + '">' + esc(decisionText(i)) + "</p>";
    if (openContext[i]) h += '<div class="context">' + (neighbour(it[SENT], -1) || '<p class="muted">No sentence before.</p>') +
      (neighbour(it[SENT], 1) || '<p class="muted">No sentence after.</p>') + "</div>";
    return h + "</li>";
  }
  function render(focus) {
    var lo = page * PAGE, hi = Math.min(view.length, lo + PAGE), h = [];
    for (var p = lo; p < hi; p++) h.push(rowHtml(view[p], p));
    $("issues").innerHTML = h.join("");
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    $("page-info").textContent = "Page " + (page + 1) + " of " + pages;
    $("prev-page").disabled = page === 0;
    $("next-page").disabled = page >= pages - 1;
    $("status").textContent = view.length ? "Showing issues " + (lo + 1) + "–" + hi + " of " + view.length + " (" + issues.length + " in all)." : "No issue matches the filters.";
    var n = 0; for (var k in store) if (Object.prototype.hasOwnProperty.call(store, k)) n++;
    $("decided").textContent = n + " decision" + (n === 1 ? "" : "s") + " saved in this browser";
    if (focus) { var el = document.querySelector(".issue.current"); if (el) { el.focus(); } }
  }
  function go(pos, focus) {
    if (!view.length) return;
    cur = Math.max(0, Math.min(view.length - 1, pos));
    page = Math.floor(cur / PAGE);
    render(focus);
  }
  $("prev-page").addEventListener("click", function () { go((page - 1) * PAGE, false); });
  $("next-page").addEventListener("click", function () { go((page + 1) * PAGE, false); });

  // --- decisions ---
  function decide(pos, what, tag) {
    var i = view[pos]; if (i === undefined) return;
    var k = key(i);
    if (what === "undo") { delete store[k]; }
    else {
      var d = { d: what, when: new Date().toISOString() };
      if (what === "other") d.tag = tag;
      var who = $("who").value.trim(); if (who) d.who = who;
      store[k] = d;
    }
    save();
    cur = pos;
    if (what !== "undo" && what !== "other" && pos + 1 < view.length) { go(pos + 1, true); } else { go(pos, true); }
  }
  $("issues").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-act]"); if (!b) return;
    var li = b.closest(".issue"), pos = Number(li.getAttribute("data-pos")), act = b.getAttribute("data-act");
    if (act === "context") { var i = view[pos]; openContext[i] = !openContext[i]; cur = pos; render(false); li = document.querySelector('.issue[data-pos="' + pos + '"] button[data-act="context"]'); if (li) li.focus(); return; }
    if (act === "other") {
      var v = li.querySelector("input.other").value.trim();
      if (!v) { li.querySelector("input.other").focus(); return; }
      decide(pos, "other", v); return;
    }
    decide(pos, act);
  });
  $("issues").addEventListener("keydown", function (ev) {
    if (ev.target.matches("input.other") && ev.key === "Enter") {
      ev.preventDefault();
      var li = ev.target.closest(".issue"), v = ev.target.value.trim();
      if (v) decide(Number(li.getAttribute("data-pos")), "other", v);
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tgt = ev.target;
    if (tgt.matches && tgt.matches("input, select, textarea")) {
      if (ev.key === "Escape") { tgt.blur(); var el = document.querySelector(".issue.current"); if (el) el.focus(); }
      return;
    }
    var k = ev.key;
    if (k === "j" || k === "ArrowDown") { go(cur + 1, true); }
    else if (k === "k" || k === "ArrowUp") { go(cur - 1, true); }
    else if (k === "a") { decide(cur, "accept"); }
    else if (k === "r") { decide(cur, "reject"); }
    else if (k === "u") { decide(cur, "undo"); }
    else if (k === "c") { var i = view[cur]; if (i === undefined) return; openContext[i] = !openContext[i]; render(true); }
    else if (k === "t") { var inp = document.querySelector(".issue.current input.other"); if (inp) inp.focus(); }
    else return;
    ev.preventDefault();
  });
  $("issues").addEventListener("focusin", function (ev) {
    var li = ev.target.closest(".issue"); if (!li) return;
    var pos = Number(li.getAttribute("data-pos"));
    if (pos !== cur) {
      var old = document.querySelector(".issue.current");
      if (old) { old.classList.remove("current"); old.removeAttribute("aria-current"); var c0 = old.querySelector(".head .cur"); if (c0) { c0.className = ""; c0.textContent = c0.textContent.replace(/^▶ /, ""); } }
      cur = pos; li.classList.add("current"); li.setAttribute("aria-current", "true");
      var c1 = li.querySelector(".head span"); if (c1) { c1.className = "cur"; c1.textContent = "▶ " + c1.textContent; }
    }
  });

  // --- export ---
  function spanTags(type, n) {
    var out = [];
    for (var j = 0; j < n; j++) out.push(type === null || type === "" || type === "O" ? "O" : (j ? "I-" : "B-") + type.replace(/^[BI]-/, ""));
    return out;
  }
  function corrections() {
    var out = [];
    for (var i = 0; i < issues.length; i++) {
      var d = store[key(i)];
      if (!d || d.d === "reject") continue;
      var it = issues[i], s = sentences[it[SENT]], jsonl = formats[s[0]] === "jsonl";
      var wanted = d.d === "accept" ? it[SUGG] : d.tag;
      var news;
      if (it[KIND] === "token") news = [wanted];
      else news = spanTags(wanted, it[END] - it[START]);
      for (var j = 0; j < news.length; j++) {
        var t = it[START] + j, old = s[3][t];
        if (news[j] === null || news[j] === old) continue;
        var c = { file: files[s[0]], line: jsonl ? s[1] : s[1] + t };
        if (jsonl) c.token = t;
        c.old_tag = old; c.new_tag = news[j]; c.word = s[2][t]; c.sentence = it[SENT];
        if (d.who) c.who = d.who;
        c.when = d.when;
        out.push(c);
      }
    }
    return out;
  }
  window.tokencleanExport = function () {
    var text = JSON.stringify(corrections(), null, 1);
    $("export-json").value = text;
    return text;
  };
  $("export").addEventListener("click", function () {
    var text = window.tokencleanExport();
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text + "\n"], { type: "application/json" }));
    a.download = "corrections.json";
    document.body.appendChild(a); a.click(); a.remove();
    $("status").textContent = "Exported " + JSON.parse(text).length + " corrections to corrections.json.";
  });

  $("summary").textContent = issues.length + " issues in " + files.join(", ") + " (page created " + D.created + ").";
  var t1 = performance.now();
  refilter();
  window.tokencleanTimings = { parse: t1 - t0, firstRender: performance.now() - t1 };
}());
</script>
</body>
</html>
"""
