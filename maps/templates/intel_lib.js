"use strict";
// Stateless helpers of the intelligence explorer: DOM built from text only, the 3x5x2 grading key, the
// binomial upper tail of the flag test, SVG elements, CSV with spreadsheet formulas neutralised, downloads.
window.IntelLib = (function () {
  const fmt = (v) => v.toLocaleString("en-GB");
  const dayText = (d) => d === null ? "undated" : new Date(d * 86400000).toISOString().slice(0, 10);
  const dayOf = (value) => value ? Math.floor(Date.parse(value + "T00:00:00Z") / 86400000) : null;
  const $ = (id) => document.getElementById(id);

  // DOM built from text only: el("b", {class: "x"}, "text", child, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "style") node.style.cssText = v; else node.setAttribute(k, String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  const swatch = (colour) => el("span", {class: "swatch", style: "background:" + colour});

  // --- 3x5x2 grading key (College of Policing APP): source evaluation, intelligence evaluation, handling
  const SOURCE = {"1": "reliable", "2": "untested", "3": "not reliable"};
  const INTEL = {A: "known directly to the source", B: "known indirectly to the source but corroborated",
                 C: "known indirectly to the source", D: "not known", E: "suspected to be false"};
  const HANDLING = {P: "lawful sharing permitted", C: "lawful sharing permitted with conditions"};
  function gradeMeaning(code, cond) {
    if (!code) return "not graded";
    const parts = [];
    for (const ch of code) {
      if (SOURCE[ch]) parts.push("source " + ch + ": " + SOURCE[ch]);
      else if (INTEL[ch]) parts.push("intelligence " + ch + ": " + INTEL[ch]);
    }
    parts.push("handling " + (cond ? "C: " + HANDLING.C : "P: " + HANDLING.P));
    return parts.join("; ");
  }
  function gradingKey() {
    const rows = [["Source evaluation", SOURCE], ["Intelligence evaluation", INTEL], ["Handling", HANDLING]];
    const table = el("table", {class: "grading-key-table"});
    for (const [title, values] of rows) {
      table.append(el("tr", {}, el("th", {colspan: 2}, title)));
      for (const [k, v] of Object.entries(values)) table.append(el("tr", {}, el("td", {}, k), el("td", {}, v)));
    }
    return el("div", {}, "A grading such as 2B reads source 2, intelligence B; the handling code follows.", table);
  }

  // --- the binomial upper tail P(X >= x), X ~ Binomial(n, p), from log-gamma (Lanczos, g = 7)
  const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                   12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  function lgamma(z) {
    if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z);
    z -= 1;
    let a = LANCZOS[0];
    const t = z + 7.5;
    for (let k = 1; k < 9; k++) a += LANCZOS[k] / (z + k);
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
  }
  function binomUpper(x, n, p) {  // P(X >= x), X ~ Binomial(n, p)
    if (x <= 0) return 1;
    if (p <= 0) return 0;
    if (p >= 1) return 1;
    const base = lgamma(n + 1), lp = Math.log(p), lq = Math.log1p(-p);
    let sum = 0;
    for (let k = x; k <= n; k++) sum += Math.exp(base - lgamma(k + 1) - lgamma(n - k + 1) + k * lp + (n - k) * lq);
    return Math.min(1, sum);
  }

  const SVGNS = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs) => { const n = document.createElementNS(SVGNS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v)); return n; };

  // --- CSV: cells starting with = + - @, tab or CR get a leading quote (OWASP CSV injection)
  const cell = (v) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const csv = (rows) => rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
  function download(name, blob) {
    const a = el("a", {download: name});
    a.href = URL.createObjectURL(blob);
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // --- path trees over a graph in CSR form {N, deg, adj, other(j, u)}: prev[v] (-1 at the source, -2 unreached)
  function shortestTree(g, src, usable) {  // breadth first: fewest links
    const prev = new Int32Array(g.N).fill(-2), via = new Int32Array(g.N).fill(-1);
    prev[src] = -1;
    const queue = [src];
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q];
      for (let p = g.deg[u]; p < g.deg[u + 1]; p++) {
        const j = g.adj[p], v = g.other(j, u);
        if (prev[v] !== -2 || !usable(j)) continue;
        prev[v] = u; via[v] = j; queue.push(v);
      }
    }
    return {prev, via};
  }
  function foremostTree(g, src, dst, earliestAfter) {  // earliest arrival: each link dated on or after the one before
    const arrive = new Float64Array(g.N).fill(Infinity), prev = new Int32Array(g.N).fill(-2), via = new Int32Array(g.N).fill(-1);
    arrive[src] = -Infinity; prev[src] = -1;
    const heap = new MinHeap();
    heap.push(-Infinity, src);
    while (heap.size) {
      const [t, u] = heap.pop();
      if (t > arrive[u]) continue;
      if (u === dst) break;
      for (let p = g.deg[u]; p < g.deg[u + 1]; p++) {
        const j = g.adj[p], v = g.other(j, u), best = earliestAfter(j, t, v);
        if (best < arrive[v]) { arrive[v] = best; prev[v] = u; via[v] = j; heap.push(best, v); }
      }
    }
    return {prev, via};
  }
  function walk(tree, dst) {  // the path from the tree's source to dst, or null
    if (tree.prev[dst] === -2) return null;
    const nodes = [dst], edges = [];
    for (let v = dst; tree.prev[v] !== -1; v = tree.prev[v]) { edges.push(tree.via[v]); nodes.push(tree.prev[v]); }
    return {nodes: nodes.reverse(), edges: edges.reverse()};
  }
  class MinHeap {  // binary heap of [key, value] pairs, smallest key first
    constructor() { this.items = []; }
    get size() { return this.items.length; }
    push(key, value) {
      const h = this.items;
      h.push([key, value]);
      for (let c = h.length - 1; c > 0;) { const p = (c - 1) >> 1; if (h[p][0] <= h[c][0]) break; [h[p], h[c]] = [h[c], h[p]]; c = p; }
    }
    pop() {
      const h = this.items, top = h[0], last = h.pop();
      if (!h.length) return top;
      h[0] = last;
      for (let c = 0; ;) {
        const l = 2 * c + 1, r = l + 1;
        let m = c;
        if (l < h.length && h[l][0] < h[m][0]) m = l;
        if (r < h.length && h[r][0] < h[m][0]) m = r;
        if (m === c) break;
        [h[m], h[c]] = [h[c], h[m]]; c = m;
      }
      return top;
    }
  }

  function fitCamera(renderer, indices) {  // zoom to fit these people (sigma node keys), padded
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, n = 0;
    for (const i of indices) {
      const d = renderer.getNodeDisplayData(String(i));
      if (!d) continue;
      n++;
      x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x); y0 = Math.min(y0, d.y); y1 = Math.max(y1, d.y);
    }
    const camera = renderer.getCamera();
    if (!n) { camera.setState({x: 0.5, y: 0.5, ratio: 1, angle: 0}); return; }
    const {width, height} = renderer.getDimensions();
    const aspect = Math.max(width, height) / Math.min(width, height);
    const span = Math.max((x1 - x0) * (width < height ? aspect : 1), (y1 - y0) * (height < width ? aspect : 1));
    const target = {x: (x0 + x1) / 2, y: (y0 + y1) / 2, ratio: Math.min(1.2, Math.max(0.08, span * 1.5)), angle: 0};
    camera.setState(target);
  }
  function benjaminiHochberg(tested, p, q) {  // q[i] for the people in tested (step-up; sorts tested by p)
    tested.sort((a, b) => p[a] - p[b]);
    let running = 1;
    for (let r = tested.length - 1; r >= 0; r--) {
      running = Math.min(running, p[tested[r]] * tested.length / (r + 1));
      q[tested[r]] = Math.min(1, running);
    }
  }

  return {fitCamera, benjaminiHochberg, shortestTree, foremostTree, walk, fmt, dayText, dayOf, $, el, swatch, SOURCE, INTEL, HANDLING, gradeMeaning, gradingKey, binomUpper, SVGNS, svgEl, csv, download};
})();
