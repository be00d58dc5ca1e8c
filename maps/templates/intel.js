"use strict";
// The intelligence explorer. Every data-derived string reaches the page as text (textContent, DOM nodes):
// never as markup. The page's Content-Security-Policy runs this script by hash and nothing else.
(async function () {
  const t0 = performance.now();
  const packed = document.getElementById("intel-data");
  const bytes = Uint8Array.from(atob(packed.textContent.trim()), (c) => c.charCodeAt(0));
  const text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  const D = JSON.parse(text);
  const tParsed = performance.now();
  const N = D.nodes.id.length, E = D.edges.s.length, NEV = D.evidence.rel.length;
  const FLAG_CONCERN = 1, FLAG_BROKER = 2, FLAG_LOOKED_AFTER = 4, FLAG_SUSPECT = 8, FLAG_YOUNG = 16, FLAG_AT_RISK = 32;
  const BIG = E > 20000;
  const {fmt, dayText, dayOf, $, el, swatch, SOURCE, INTEL, HANDLING, gradeMeaning, gradingKey, binomUpper, SVGNS, svgEl, csv, download,
         shortestTree, foremostTree, walk, fitCamera, benjaminiHochberg} = window.IntelLib;
  const personButton = (i) => el("button", {class: "person", type: "button", "data-node": i}, D.nodes.id[i]);

  document.querySelector("#grading-key .keybody").append(gradingKey());

  // --- adjacency (CSR), groups
  const deg = new Int32Array(N + 1);
  for (let j = 0; j < E; j++) { deg[D.edges.s[j] + 1]++; deg[D.edges.t[j] + 1]++; }
  for (let i = 0; i < N; i++) deg[i + 1] += deg[i];
  const adj = new Int32Array(2 * E), fill = deg.slice(0, N);
  for (let j = 0; j < E; j++) { adj[fill[D.edges.s[j]]++] = j; adj[fill[D.edges.t[j]]++] = j; }
  const other = (j, i) => D.edges.s[j] === i ? D.edges.t[j] : D.edges.s[j];
  const idIndex = new Map(D.nodes.id.map((id, i) => [id, i]));
  const groupIndex = new Map(D.groups.id.map((g, k) => [g, k]));
  const NG = D.groups.id.length;
  const memberStart = new Int32Array(NG + 1), members = new Int32Array(N);
  {
    for (let i = 0; i < N; i++) { const k = groupIndex.get(D.nodes.group[i]); if (k !== undefined) memberStart[k + 1]++; }
    for (let k = 0; k < NG; k++) memberStart[k + 1] += memberStart[k];
    const at = memberStart.slice(0, NG);
    for (let i = 0; i < N; i++) { const k = groupIndex.get(D.nodes.group[i]); if (k !== undefined) members[at[k]++] = i; }
  }
  const kidsText = (i) => kidsNow[i] + (kidsNow[i] === 1 ? " child" : " children");
  // --- flags recalculated for the evidence shown: the binomial test of ctxrisk.analytics.graph.ChildLinkTest
  // (configuration-model null: a link of person i ends at a child with probability S / (T - n_i)), one-sided
  // p = P(X >= x), Benjamini-Hochberg q over everyone aged 18+ with a link; flagged when q < alpha and linked
  // to at least min_children children. Adults (25+) are flagged; young adults (18-24) are never "of concern".
  const F = Int32Array.from(D.nodes.flags), kidsNow = new Int32Array(N), linksNow = new Int32Array(N), childLinksNow = new Int32Array(N);
  const pNow = new Float64Array(N).fill(1), qNow = new Float64Array(N).fill(1), expectedNow = new Float64Array(N);
  let flagKey = null;
  function recomputeFlags(key) {
    if (key === flagKey) return;
    flagKey = key;
    linksNow.fill(0); childLinksNow.fill(0); kidsNow.fill(0);
    for (let j = 0; j < E; j++) {
      let c = 0;
      for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) c += evPass[k];
      if (!c) continue;
      const a = D.edges.s[j], b = D.edges.t[j];
      linksNow[a] += c; linksNow[b] += c;
      if (D.nodes.band[b] === 0) { childLinksNow[a] += c; kidsNow[a]++; }
      if (D.nodes.band[a] === 0) { childLinksNow[b] += c; kidsNow[b]++; }
    }
    let S = 0, T = 0;
    const tested = [];
    for (let i = 0; i < N; i++) {
      T += linksNow[i];
      if (D.nodes.band[i] === 0) S += linksNow[i];
      else if ((D.nodes.band[i] === 1 || D.nodes.band[i] === 2) && linksNow[i] > 0) tested.push(i);
    }
    pNow.fill(1); qNow.fill(1); expectedNow.fill(0);
    for (const i of tested) {
      const others = T - linksNow[i], chance = others > 0 ? Math.min(1, Math.max(0, S / others)) : 0;
      expectedNow[i] = linksNow[i] * chance;
      pNow[i] = binomUpper(childLinksNow[i], linksNow[i], chance);
    }
    benjaminiHochberg(tested, pNow, qNow);
    for (let i = 0; i < N; i++) {
      let f = F[i] & ~(FLAG_CONCERN | FLAG_YOUNG);
      if (qNow[i] < D.test.alpha && kidsNow[i] >= D.test.minChildren) f |= D.nodes.band[i] === 2 ? FLAG_CONCERN : D.nodes.band[i] === 1 ? FLAG_YOUNG : 0;
      F[i] = f;
    }
    drawLists();
  }
  const testText = (i) => fmt(childLinksNow[i]) + " of " + fmt(linksNow[i]) + " evidence items with children where chance explains " +
    expectedNow[i].toFixed(1) + " (p = " + pNow[i].toPrecision(2) + ", q = " + qNow[i].toPrecision(2) + ")";
  const flagText = (i) => {
    const f = F[i], out = [];
    if (f & FLAG_CONCERN) out.push("adult linked to " + kidsText(i) + " (more than chance)");
    if (f & FLAG_YOUNG) out.push("young adult (18-24) linked to " + kidsText(i) + " (more than chance): may be exploited themselves");
    if (f & FLAG_BROKER) out.push("broker between groups");
    if (f & FLAG_LOOKED_AFTER) out.push("looked after");
    if (f & FLAG_SUSPECT) out.push("recorded as a suspect in the period");
    return out;
  };
  const rankText = (i) => {
    const r = D.nodes.rank[i];
    if (!r) return "betweenness: on no shortest chain between other people";
    const pct = Math.max(1, Math.ceil(100 * r / N));
    return "betweenness rank " + fmt(r) + " of " + fmt(N) + " (top " + pct + "%): how often this person lies on the shortest chain linking two others";
  };

  // --- starting view: flagged adults and children at risk (as Neo4j Bloom starts from a search), widened on demand
  const FOCUSED = N > D.view.threshold;
  const inView = new Uint8Array(N), want = new Uint8Array(N), base = new Uint8Array(N), edgeIn = new Uint8Array(E);
  let baseSize = 0, baseKind = "everyone";
  if (FOCUSED) {
    const budget = D.view.budget;
    const add = (i) => { if (!base[i] && baseSize < budget) { base[i] = 1; baseSize++; } };
    for (const flag of [FLAG_CONCERN, FLAG_YOUNG, FLAG_AT_RISK]) for (let i = 0; i < N; i++) if (D.nodes.flags[i] & flag) add(i);  // whole period
    baseKind = "flagged adults and children at risk";
    if (!baseSize) {
      const order = D.groups.id.map((_, k) => k).sort((a, b) => D.groups.size[b] - D.groups.size[a]);
      for (const k of order) {
        const size = memberStart[k + 1] - memberStart[k];
        if (baseSize && baseSize + size > budget) continue;
        for (let p = memberStart[k]; p < memberStart[k + 1]; p++) { base[members[p]] = 1; baseSize++; }
      }
      baseKind = "the largest groups";
    }
  }

  // --- the sigma graph holds only the people wanted in view and the links between them
  const graph = new graphology.Graph({type: "undirected", multi: false, allowSelfLoops: false});
  let maxW = 1e-9;
  for (let j = 0; j < E; j++) if (D.edges.w[j] > maxW) maxW = D.edges.w[j];
  const edgeSize = (j) => 0.5 + 2.5 * Math.sqrt(D.edges.w[j] / maxW);
  const detached = new graphology.Graph({type: "undirected"});
  let renderer = null;
  function syncGraph() {
    let changed = false;
    for (let i = 0; i < N; i++) if (inView[i] !== want[i]) { changed = true; break; }
    if (!changed) return false;
    if (renderer) renderer.setGraph(detached);  // sigma re-indexes on every change: detach, change, re-attach once
    for (let i = 0; i < N; i++) {
      if (inView[i] && !want[i]) {
        for (let p = deg[i]; p < deg[i + 1]; p++) edgeIn[adj[p]] = 0;
        graph.dropNode(String(i));
        inView[i] = 0;
      }
    }
    const added = [];
    for (let i = 0; i < N; i++) {
      if (want[i] && !inView[i]) {
        graph.addNode(String(i), {x: D.nodes.x[i], y: -D.nodes.y[i], size: D.nodes.size[i], label: D.nodes.id[i], color: D.colours[D.nodes.band[i]]});
        inView[i] = 1;
        added.push(i);
      }
    }
    for (const i of added) {
      for (let p = deg[i]; p < deg[i + 1]; p++) {
        const j = adj[p];
        if (edgeIn[j] || !inView[other(j, i)]) continue;
        graph.addEdgeWithKey(String(j), String(D.edges.s[j]), String(D.edges.t[j]), {size: edgeSize(j), color: "#c8c8c8"});
        edgeIn[j] = 1;
      }
    }
    if (renderer) renderer.setGraph(graph);
    return true;
  }

  // --- state and filters
  const allOf = (list) => new Set(list.map((_, k) => k));
  const SOURCES = ["1", "2", "3"], INTELS = ["A", "B", "C", "D", "E"];
  function freshState() {
    return {bands: allOf(D.bands), relations: allOf(D.relations), themes: new Set([...allOf(D.themes), -1]),
            risks: new Set([...allOf(D.risks), -1]), lookedAfter: null, sources: new Set(SOURCES), intels: new Set(INTELS),
            ungraded: true, from: null, to: null, group: null, hops: 0, selected: null, hovered: null,
            hlConcern: true, hlBroker: true, dim: false, all: !FOCUSED, extra: new Set(), subset: null, subsetEdges: null,
            subsetKind: ""};
  }
  let state = freshState();
  const nodeVis = new Uint8Array(N), edgeVis = new Uint8Array(E), evPass = new Uint8Array(NEV), evBase = new Uint8Array(NEV);
  const focus = new Uint8Array(N), nodePass = new Uint8Array(N), vdeg = new Int32Array(N), dist = new Int32Array(N);
  let visibleNodes = 0, visibleEdges = 0;
  const MAX_LABELS = 40, labelled = new Set();  // flagged adults labelled at once: the most children linked first

  function gradePasses(g) {
    const code = D.grades[g];
    if (!code) return state.ungraded;
    for (const ch of code) {
      if (SOURCE[ch] && !state.sources.has(ch)) return false;
      if (INTEL[ch] && !state.intels.has(ch)) return false;
    }
    return true;
  }
  function edgeFilterActive() {
    return state.relations.size < D.relations.length || state.from !== null || state.to !== null ||
      state.themes.size < D.themes.length + 1 || state.sources.size < 3 || state.intels.size < 5 || !state.ungraded;
  }
  const evidenceKey = () => [[...state.relations], [...state.themes], [...state.sources], [...state.intels], state.ungraded,
    state.from, state.to].map(String).join("|");
  function computeEvidence() {
    const gradePass = D.grades.map((_, g) => gradePasses(g));
    for (let k = 0; k < NEV; k++) {
      const ok = state.relations.has(D.evidence.rel[k]) && state.themes.has(D.evidence.theme[k]) && gradePass[D.evidence.grade[k]];
      evBase[k] = ok ? 1 : 0;
      const d = D.evidence.day[k];
      evPass[k] = ok && (d === null || ((state.from === null || d >= state.from) && (state.to === null || d <= state.to))) ? 1 : 0;
    }
  }
  function nodePasses(i) {
    if (!state.bands.has(D.nodes.band[i])) return false;
    if (state.group !== null && D.nodes.group[i] !== state.group) return false;
    if (state.lookedAfter !== null && ((D.nodes.flags[i] & FLAG_LOOKED_AFTER) ? 1 : 0) !== state.lookedAfter) return false;
    return state.risks.has(D.nodes.risk[i]);
  }
  function computeWant() {
    if (state.subset) { want.fill(0); for (const i of state.subset) want[i] = 1; return; }
    if (state.all) { want.fill(1); return; }
    want.fill(0);
    if (state.group !== null && groupIndex.has(state.group)) {
      const k = groupIndex.get(state.group);
      for (let p = memberStart[k]; p < memberStart[k + 1]; p++) want[members[p]] = 1;
    } else want.set(base);
    for (const i of state.extra) { want[i] = 1; for (let p = deg[i]; p < deg[i + 1]; p++) want[other(adj[p], i)] = 1; }
  }
  function egoView() {
    dist.fill(-1);
    const queue = [state.selected];
    dist[state.selected] = 0;
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q];
      if (dist[u] >= state.hops) continue;
      for (let p = deg[u]; p < deg[u + 1]; p++) {
        const j = adj[p];
        if (!edgeVis[j]) continue;
        const v = other(j, u);
        if (dist[v] < 0) { dist[v] = dist[u] + 1; queue.push(v); }
      }
    }
    for (let i = 0; i < N; i++) { nodeVis[i] = dist[i] >= 0 ? 1 : 0; if (nodeVis[i]) want[i] = 1; }
    nodeVis[state.selected] = 1;
  }
  function applyFilters() {
    computeEvidence();
    recomputeFlags(evidenceKey());
    for (let i = 0; i < N; i++) nodePass[i] = nodePasses(i) ? 1 : 0;
    vdeg.fill(0);
    for (let j = 0; j < E; j++) {
      let ok = 0;
      for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) if (evPass[k]) { ok = 1; break; }
      ok = ok && nodePass[D.edges.s[j]] && nodePass[D.edges.t[j]] && (!state.subsetEdges || state.subsetEdges.has(j)) ? 1 : 0;
      edgeVis[j] = ok;
      if (ok) { vdeg[D.edges.s[j]]++; vdeg[D.edges.t[j]]++; }
    }
    const active = edgeFilterActive();
    for (let i = 0; i < N; i++) nodeVis[i] = nodePass[i] && (vdeg[i] > 0 || !active) ? 1 : 0;
    computeWant();
    if (state.hops > 0 && state.selected !== null) egoView();
    if (state.selected !== null) want[state.selected] = 1;
    visibleNodes = 0; visibleEdges = 0;
    for (let i = 0; i < N; i++) { if (!want[i]) nodeVis[i] = 0; visibleNodes += nodeVis[i]; }
    for (let j = 0; j < E; j++) {
      if (edgeVis[j] && !(nodeVis[D.edges.s[j]] && nodeVis[D.edges.t[j]])) edgeVis[j] = 0;
      visibleEdges += edgeVis[j];
    }
    labelled.clear();
    const shownFlagged = [];
    for (let i = 0; i < N; i++) if (nodeVis[i] && (F[i] & FLAG_CONCERN)) shownFlagged.push(i);
    shownFlagged.sort((a, b) => kidsNow[b] - kidsNow[a] || (D.nodes.rank[a] || N + 1) - (D.nodes.rank[b] || N + 1));
    for (const i of shownFlagged.slice(0, MAX_LABELS)) labelled.add(i);
    focus.fill(0);
    if (state.selected !== null) {
      focus[state.selected] = 1;
      for (let p = deg[state.selected]; p < deg[state.selected + 1]; p++) if (edgeVis[adj[p]]) focus[other(adj[p], state.selected)] = 1;
    }
    const synced = syncGraph();
    showCounts();
    if (renderer && !synced) renderer.refresh();
    if (state.selected !== null) showPerson(state.selected);
    drawPlaces();
    drawTimeline();
  }
  function showCounts() {
    const count = $("count");
    const focusedNow = !state.all || state.subset !== null;
    count.dataset.visibleNodes = visibleNodes;
    count.dataset.visibleEdges = visibleEdges;
    count.dataset.view = state.subset ? "subset" : (!state.all ? "focused" : "all");
    count.dataset.inGraph = graph.order;
    count.textContent = "Showing " + fmt(visibleNodes) + " of " + fmt(N) + " people and " + fmt(visibleEdges) + " of " + fmt(E) + " links";
    const note = $("viewnote");
    note.hidden = !(FOCUSED || state.subset);
    if (state.subset) $("viewtext").textContent = "Showing the " + state.subsetKind + " only. Reset to leave it.";
    else if (focusedNow) {
      $("viewtext").textContent = "Starting view of a large graph (over " + fmt(D.view.threshold) + " people): " +
        (state.group !== null ? "group " + state.group : baseKind) +
        (state.extra.size ? ", widened around " + fmt(state.extra.size) + (state.extra.size === 1 ? " person" : " people") + " looked at" : "") +
        ". Click a person to add their links; choose a group, find a person or use the ego view to widen it.";
    } else $("viewtext").textContent = "Showing everyone: drawing the whole graph is slow.";
    $("show-all").hidden = !focusedNow || !!state.subset;
  }

  // --- camera: zoom to fit the people in view
  const fitTo = (indices) => { if (renderer) fitCamera(renderer, indices); };
  const visibleList = () => { const out = []; for (let i = 0; i < N; i++) if (nodeVis[i]) out.push(i); return out; };
  const fitVisible = () => fitTo(visibleList());

  // --- side map: local-authority outlines with their names, places of the selection
  const map = L.map("map", {preferCanvas: true, attributionControl: true, zoomControl: true}).setView([52.8, -1.6], 6);
  map.attributionControl.setPrefix(false);
  if (D.meta.basemap) L.tileLayer(D.meta.basemap, {attribution: D.meta.attribution, maxZoom: 18}).addTo(map);
  let boundsAll = null;
  if (D.boundaries) {
    const outlines = L.geoJSON(D.boundaries.outlines, {style: {color: "#555", weight: 1, fill: false}, interactive: false}).addTo(map);
    for (const [name, lat, lon] of D.boundaries.labels) {
      L.tooltip({permanent: true, direction: "center", className: "place-label", interactive: false})
        .setLatLng([lat, lon]).setContent(el("span", {class: "la-name"}, name)).addTo(map);
    }
    map.attributionControl.addAttribution(D.boundaries.attribution);
    boundsAll = outlines.getBounds();
  }
  const placeLayer = L.layerGroup().addTo(map);
  function selectionGroups() {
    if (state.group !== null) return [state.group];
    if (state.selected !== null) return [D.nodes.group[state.selected]];
    if (state.subset) return [...new Set([...state.subset].map((i) => D.nodes.group[i]))];
    return [];
  }
  function drawPlaces() {
    placeLayer.clearLayers();
    const gids = selectionGroups().filter((g) => groupIndex.has(g));
    const cap = $("mapcaption");
    if (!gids.length) {
      cap.textContent = "Places linked to the selection: choose a group or a person";
      if (boundsAll) map.fitBounds(boundsAll, {padding: [4, 4]});
      return;
    }
    const linked = new Map();
    for (const g of gids) for (const [k, m] of D.groups.places[groupIndex.get(g)]) linked.set(k, (linked.get(k) || 0) + m);
    const bounds = [];
    for (const [k, m] of linked) {
      const label = (D.places.label[k] ? D.places.label[k] + " - " : "") + D.places.id[k] + ": " + m + (m === 1 ? " member" : " members") + " linked";
      const style = {color: "#7a1fa2", weight: 1, fillColor: "#7a1fa2", fillOpacity: Math.min(0.85, 0.25 + 0.1 * m)};
      const shape = D.places.poly[k] ? L.polygon(D.places.poly[k], style) : L.circleMarker(D.places.point[k], {...style, radius: 6});
      shape.bindTooltip(el("span", {class: "place-tip"}, label)).addTo(placeLayer);
      if (D.places.poly[k]) bounds.push(...D.places.poly[k]); else bounds.push(D.places.point[k]);
    }
    cap.textContent = (gids.length === 1 ? "Group " + gids[0] : fmt(gids.length) + " groups") + ": linked to " + fmt(linked.size) +
      (linked.size === 1 ? " place" : " places") + " (darker = more members)";
    if (bounds.length) map.fitBounds(bounds, {padding: [10, 10], maxZoom: 14});
  }

  // --- evidence panel
  function evidenceTable(j) {
    const table = el("table", {}, el("tr", {}, ...["source", "relation", "event", "date", "grading"].map((h) => el("th", {}, h))));
    for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) {
      const r = D.evidence.rel[k], code = D.grades[D.evidence.grade[k]], cond = D.evidence.cond[k];
      const theme = D.evidence.theme[k] >= 0 ? " (" + D.themes[D.evidence.theme[k]] + ")" : "";
      table.append(el("tr", {class: "evidence" + (evPass[k] ? "" : " out")},
        el("td", {}, D.sources[r]), el("td", {}, D.relations[r].replace(/_/g, " ") + theme),
        el("td", {}, D.evidence.id[k] === null ? "-" : D.evidence.id[k]), el("td", {}, dayText(D.evidence.day[k])),
        el("td", {title: gradeMeaning(code, cond)}, code ? code + (cond ? "-C" : "-P") : "not graded",
          code ? el("span", {class: "grade-meaning"}, gradeMeaning(code, cond)) : null)));
    }
    return table;
  }
  function showPerson(i) {
    const links = [];
    for (let p = deg[i]; p < deg[i + 1]; p++) links.push(adj[p]);
    links.sort((a, b) => D.edges.w[b] - D.edges.w[a]);
    const shown = links.filter((j) => edgeVis[j]);
    const f = F[i];
    const tags = flagText(i).map((t, n) => el("span", {class: "tag" + (n === 0 && (f & FLAG_CONCERN) ? " concern" : (f & FLAG_YOUNG) && n === 0 ? " young" : "")}, t));
    const panel = $("panel");
    panel.replaceChildren(...[
      el("h2", {id: "person-id", class: "person-title"}, D.nodes.id[i]),
      el("div", {}, swatch(D.colours[D.nodes.band[i]]), D.bandLabels[D.nodes.band[i]], " - group " + D.nodes.group[i] + " - " +
        D.nodes.events[i] + " events" + (D.nodes.risk[i] >= 0 ? " - latest screening: " + D.risks[D.nodes.risk[i]] : "")),
      el("div", {id: "person-rank"}, rankText(i)),
      el("div", {id: "person-tags"}, ...tags),
      D.nodes.band[i] === 1 || D.nodes.band[i] === 2 ? el("div", {id: "person-test", class: "small"}, "Links with children under the current filters: " + testText(i) + ". Flags are recalculated for the evidence shown.") : null,
      el("p", {class: "notice"}, D.meta.notice),
      el("div", {}, el("b", {}, fmt(shown.length)), " of " + fmt(links.length) + " links shown under the current filters" +
        (shown.length > 100 ? " (strongest 100 listed) " : " "),
        el("button", {type: "button", id: "expand"}, "Expand neighbours")),
      el("div", {id: "links"}, ...shown.slice(0, 100).map((j) => {
        const o = other(j, i);
        return el("div", {class: "link", "data-edge": j}, personButton(o), " ", swatch(D.colours[D.nodes.band[o]]),
          D.bandLabels[D.nodes.band[o]] + " - link weight " + D.edges.w[j], evidenceTable(j));
      }))].filter(Boolean));
  }
  function showSubset(title, order) {
    const panel = $("panel");
    const steps = el("ol", {id: "subset-list"});
    for (const i of order) steps.append(el("li", {}, personButton(i), " " + D.bandLabels[D.nodes.band[i]]));
    const links = el("div", {id: "links"});
    for (const j of state.subsetEdges) {
      links.append(el("div", {class: "link", "data-edge": j}, personButton(D.edges.s[j]), " - ", personButton(D.edges.t[j]),
        " - link weight " + D.edges.w[j], evidenceTable(j)));
    }
    panel.replaceChildren(el("h2", {id: "subset-title", class: "person-title"}, title), el("p", {class: "notice"}, D.meta.notice), steps, links);
  }
  $("panel").addEventListener("click", (ev) => {
    if (ev.target.id === "expand" && state.selected !== null) { expand(state.selected); return; }
    const b = ev.target.closest("button.person");
    if (b) select(+b.dataset.node, true);
  });
  function expand(i) {
    state.all = state.all && !state.subset;
    state.subset = null; state.subsetEdges = null;
    state.extra.add(i);
    applyFilters();
    const around = [i];
    for (let p = deg[i]; p < deg[i + 1]; p++) if (edgeVis[adj[p]]) around.push(other(adj[p], i));
    fitTo(around);
  }
  function select(i, move) {
    state.selected = i;
    if (!state.all && !state.subset) state.extra.add(i);
    applyFilters();
    if (move) {
      const around = [i];
      for (let p = deg[i]; p < deg[i + 1]; p++) if (edgeVis[adj[p]]) around.push(other(adj[p], i));
      fitTo(state.hops > 0 ? visibleList() : around);
    }
  }

  // --- path and connecting network (as i2 Analyst's Notebook's Find Path and Find Connecting Network)
  // paths over the links shown under the filters (node filters apply; the view does not)
  const G = {N, deg, adj, other};
  const bfs = (src) => shortestTree(G, src, linkUsable);
  const timedPath = (src, dst) => foremostTree(G, src, dst, earliestAfter);
  function linkUsable(j) {
    if (!nodePass[D.edges.s[j]] || !nodePass[D.edges.t[j]]) return false;
    for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) if (evPass[k]) return true;
    return false;
  }
  function earliestAfter(j, t, v) {  // the first date on or after t of link j's evidence shown, to a person shown
    if (!nodePass[v]) return Infinity;
    let best = Infinity;
    for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) {
      const d = D.evidence.day[k];
      if (evPass[k] && d !== null && d >= t && d < best) best = d;
    }
    return best;
  }
  function lookup(raw) {
    const id = raw.trim();
    if (!idIndex.has(id)) { result("No person with the ID " + JSON.stringify(id) + "."); return null; }
    return idIndex.get(id);
  }
  function result(message) { $("result").textContent = message; }
  function showFound(nodes, edges, kind, title) {
    state.subset = new Set(nodes); state.subsetEdges = new Set(edges); state.subsetKind = kind;
    state.selected = null; state.hops = 0; $("hops").value = "0";
    applyFilters();
    showSubset(title, nodes);
    fitTo(nodes);
  }
  function findPath() {
    computeEvidence();
    for (let i = 0; i < N; i++) nodePass[i] = nodePasses(i) ? 1 : 0;
    const a = lookup($("path-from").value), b = lookup($("path-to").value);
    if (a === null || b === null) return;
    const timed = $("path-timed").checked;
    const found = walk(timed ? timedPath(a, b) : bfs(a), b);
    if (!found) { result("No " + (timed ? "time-ordered " : "") + "path between " + D.nodes.id[a] + " and " + D.nodes.id[b] + " under the current filters."); return; }
    const hops = found.edges.length;
    result((timed ? "Time-ordered path" : "Shortest path") + ": " + hops + (hops === 1 ? " link" : " links") + ".");
    showFound(found.nodes, found.edges, (timed ? "time-ordered " : "") + "path",
      (timed ? "Time-ordered path " : "Path ") + D.nodes.id[a] + " to " + D.nodes.id[b] + " (" + hops + (hops === 1 ? " link)" : " links)"));
  }
  function findNetwork() {
    computeEvidence();
    for (let i = 0; i < N; i++) nodePass[i] = nodePasses(i) ? 1 : 0;
    const ids = $("cn-ids").value.split(/[\s,;]+/).filter(Boolean);
    const people = [];
    for (const id of ids) { const i = lookup(id); if (i === null) return; if (!people.includes(i)) people.push(i); }
    if (people.length < 2) { result("Give at least two IDs for a connecting network."); return; }
    const nodes = new Set(people), edges = new Set();
    let unreached = 0;
    for (let x = 0; x < people.length; x++) {
      const tree = bfs(people[x]);
      for (let y = x + 1; y < people.length; y++) {
        const found = walk(tree, people[y]);
        if (!found) { unreached++; continue; }
        found.nodes.forEach((n) => nodes.add(n)); found.edges.forEach((e) => edges.add(e));
      }
    }
    result("Connecting network: " + fmt(nodes.size) + " people, " + fmt(edges.size) + " links" +
      (unreached ? "; " + unreached + (unreached === 1 ? " pair is" : " pairs are") + " not connected under the current filters." : "."));
    showFound([...nodes], [...edges], "connecting network", "Connecting network of " + people.length + " people");
  }
  $("path-find").addEventListener("click", findPath);
  $("cn-find").addEventListener("click", findNetwork);

  // --- timeline of the selection's links; dragging on it sets the time window
  const timeline = $("timeline");
  let brushStart = null;
  function selectionEdges() {
    const out = [];
    if (state.selected !== null && !state.subset) { for (let p = deg[state.selected]; p < deg[state.selected + 1]; p++) out.push(adj[p]); return [out, "links of " + D.nodes.id[state.selected]]; }
    for (let j = 0; j < E; j++) if (nodeVis[D.edges.s[j]] && nodeVis[D.edges.t[j]] && (!state.subsetEdges || state.subsetEdges.has(j))) out.push(j);
    return [out, "links in view"];
  }
  function drawTimeline() {
    const [edges, what] = selectionEdges();
    const range = D.dayRange;
    timeline.replaceChildren();
    if (!range) { $("timeline-caption").textContent = "Timeline: no dated evidence"; return; }
    const width = timeline.clientWidth || 600, height = 70, bins = Math.max(1, Math.min(120, Math.ceil((range[1] - range[0] + 1) / 30)));
    const span = (range[1] - range[0] + 1) / bins, counts = new Int32Array(bins);
    let total = 0;
    for (const j of edges) for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) {
      const d = D.evidence.day[k];
      if (d === null || !evBase[k]) continue;
      counts[Math.min(bins - 1, Math.floor((d - range[0]) / span))]++; total++;
    }
    const top = Math.max(1, ...counts), bw = width / bins;
    const x = (d) => (d - range[0]) / (range[1] - range[0] + 1) * width;
    if (state.from !== null || state.to !== null) {
      const a = x(state.from ?? range[0]), b = x((state.to ?? range[1]) + 1);
      timeline.append(svgEl("rect", {class: "brush", x: a, y: 0, width: Math.max(1, b - a), height: height - 12, fill: "#fde7b0"}));
    }
    counts.forEach((c, b) => {
      if (!c) return;
      const h = (height - 14) * c / top;
      const from = range[0] + b * span, inWindow = (state.from === null || from + span > state.from) && (state.to === null || from <= state.to);
      timeline.append(svgEl("rect", {class: "tbar", x: b * bw + 0.5, y: height - 12 - h, width: Math.max(1, bw - 1), height: h, fill: inWindow ? "#0072B2" : "#b8c7d6"}));
    });
    for (const d of [range[0], range[1]]) {
      const t = svgEl("text", {x: d === range[0] ? 0 : width, y: height - 1, "font-size": 10, "text-anchor": d === range[0] ? "start" : "end"});
      t.textContent = dayText(d); timeline.append(t);
    }
    $("timeline-caption").textContent = "Timeline of the " + what + ": " + fmt(total) + " dated evidence items. Drag to set the time window; click to clear it.";
  }
  const dayAt = (clientX) => {
    const box = timeline.getBoundingClientRect(), range = D.dayRange;
    const f = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return Math.round(range[0] + f * (range[1] - range[0]));
  };
  timeline.addEventListener("pointerdown", (ev) => { if (D.dayRange) { brushStart = dayAt(ev.clientX); timeline.setPointerCapture(ev.pointerId); } });
  timeline.addEventListener("pointerup", (ev) => {
    if (brushStart === null) return;
    const end = dayAt(ev.clientX);
    const [a, b] = brushStart <= end ? [brushStart, end] : [end, brushStart];
    brushStart = null;
    if (b - a < 1) { setWindow(null, null); return; }
    setWindow(a, b);
  });
  function setWindow(a, b) {
    state.from = a; state.to = b;
    $("from").value = a === null ? "" : dayText(a); $("to").value = b === null ? "" : dayText(b);
    applyFilters();
  }

  // --- renderer
  const tPrepared = performance.now();
  applyFilters();
  const tView = performance.now();
  renderer = new Sigma(graph, $("graph"), {
    hideEdgesOnMove: BIG,
    ...(E > 10000 && Sigma.rendering && Sigma.rendering.EdgeLineProgram
      ? {defaultEdgeType: "line", edgeProgramClasses: {line: Sigma.rendering.EdgeLineProgram}} : {}),
    labelRenderedSizeThreshold: Infinity,  // labels only where forced: selected, hovered and flagged people
    zIndex: true,
    nodeReducer: (key, data) => {
      const i = +key;
      if (!nodeVis[i]) return {...data, hidden: true};
      const res = {...data};
      const f = F[i];
      const flagged = state.hlConcern && (f & FLAG_CONCERN), broker = state.hlBroker && (f & FLAG_BROKER);
      if (flagged) { res.forceLabel = labelled.has(i); res.zIndex = 1; res.size = data.size + 3; }
      else if (broker) { res.zIndex = 1; res.size = data.size + 2; }
      if (state.subset && state.subset.has(i)) { res.forceLabel = true; res.zIndex = 2; }
      if (i === state.selected) {
        res.forceLabel = true; res.zIndex = 3;
        const marks = flagText(i).filter((t) => t.includes("(more than chance)"));
        if (marks.length) res.label = D.nodes.id[i] + ": " + marks[0];
      }
      if (i === state.selected) res.highlighted = true;
      if (state.dim && !flagged && !broker && !focus[i] && i !== state.selected) { res.color = "#e4e4e4"; res.zIndex = 0; }
      return res;
    },
    edgeReducer: (key, data) => {
      const j = +key;
      if (!edgeVis[j]) return {...data, hidden: true};
      if ((state.selected !== null && (D.edges.s[j] === state.selected || D.edges.t[j] === state.selected)) || (state.subsetEdges && state.subsetEdges.has(j))) return {...data, color: "#555", zIndex: 1};
      return data;
    },
  });
  renderer.on("clickNode", ({node}) => select(+node, false));
  // sigma draws the hovered person's label itself (its hover layer): no refresh here, which would upset its click
  renderer.on("enterNode", ({node}) => { state.hovered = +node; });
  renderer.on("leaveNode", () => { state.hovered = null; });
  if (FOCUSED) fitVisible();
  new ResizeObserver(() => drawTimeline()).observe(timeline);

  // --- legend
  {
    const legend = $("legend");
    legend.append(el("b", {}, "Key"));
    D.bands.forEach((b, k) => legend.append(el("div", {}, swatch(D.colours[k]), D.bandLabels[k])));
    legend.append(el("div", {}, "Size: betweenness rank (larger = more often on the shortest chain between others)"));
    legend.append(el("div", {}, el("span", {class: "bar", style: "width:18px;height:1px"}), el("span", {class: "bar", style: "width:18px;height:3px"}),
      "Line width: link weight (evidence items, weighted by grading and recency)"));
    legend.append(el("div", {}, "Larger, labelled (the " + MAX_LABELS + " with most children): adult linked to N children (more than chance); other labels show on hover and selection; dark lines: the selection's links"));
  }

  // --- controls
  const search = $("search"), matches = $("matches");
  let lowIds = null, lineStart = null;
  function lineOf(at) {
    if (lineStart === null) {
      lineStart = new Int32Array(N);
      let pos = 1;
      for (let i = 0; i < N; i++) { lineStart[i] = pos; pos += D.nodes.id[i].length + 1; }
    }
    let lo = 0, hi = N - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (lineStart[mid] <= at) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function runSearch() {
    const q = search.value.trim();
    matches.replaceChildren();
    if (!q) return;
    if (idIndex.has(q)) { select(idIndex.get(q), true); matches.textContent = "found " + q; return; }
    const found = [];
    const low = q.toLowerCase();
    if (lowIds === null) lowIds = "\n" + D.nodes.id.join("\n").toLowerCase() + "\n";
    for (let at = lowIds.indexOf(low); at >= 0 && found.length < 20; at = lowIds.indexOf(low, at + 1)) {
      const i = lineOf(at);
      if (!found.length || found[found.length - 1] !== i) found.push(i);
    }
    if (!found.length) { matches.textContent = "no person with that ID"; return; }
    matches.append(...found.map(personButton));
  }
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") runSearch(); });
  search.addEventListener("change", runSearch);
  matches.addEventListener("click", (ev) => { const b = ev.target.closest("button.person"); if (b) select(+b.dataset.node, true); });

  function checkboxes(fieldset, items, attr, set, numeric = true) {
    const box = typeof fieldset === "string" ? $(fieldset) : fieldset;
    items.forEach(([value, ...label]) => {
      const input = el("input", {type: "checkbox", ["data-" + attr]: value});
      input.checked = true;
      box.append(el("label", {}, input, " ", ...label));
    });
    box.addEventListener("change", (ev) => {
      const raw = ev.target.dataset[attr];
      if (raw === undefined) return;
      const value = numeric ? +raw : raw;
      if (ev.target.checked) set().add(value); else set().delete(value);
      applyFilters();
    });
  }
  checkboxes("bandset", D.bands.map((b, k) => [k, swatch(D.colours[k]), D.bandLabels[k]]), "band", () => state.bands);
  checkboxes("relset", D.relations.map((r, k) => [k, r.replace(/_/g, " ") + " ", el("small", {}, "(" + D.sources[k] + ")")]), "relation", () => state.relations);
  checkboxes("themeset", [...D.themes.map((t, k) => [k, t]), [-1, "no theme recorded"]], "theme", () => state.themes);
  checkboxes("riskset", [...D.risks.map((r, k) => [k, r]), [-1, "not screened"]], "risk", () => state.risks);
  checkboxes("grade-source", SOURCES.map((s) => [s, "source " + s + ": " + SOURCE[s]]), "source", () => state.sources, false);
  checkboxes("grade-intel", INTELS.map((s) => [s, "intelligence " + s + ": " + INTEL[s]]), "intel", () => state.intels, false);
  $("grade-none").addEventListener("change", (ev) => { state.ungraded = ev.target.checked; applyFilters(); });
  $("looked-after").addEventListener("change", (ev) => { state.lookedAfter = ev.target.value === "" ? null : +ev.target.value; applyFilters(); });
  const from = $("from"), to = $("to");
  if (D.dayRange) { from.min = to.min = dayText(D.dayRange[0]); from.max = to.max = dayText(D.dayRange[1]); }
  from.addEventListener("change", () => { state.from = dayOf(from.value); applyFilters(); });
  to.addEventListener("change", () => { state.to = dayOf(to.value); applyFilters(); });
  const groupSel = $("group");
  D.groups.id.map((g, k) => k).sort((a, b) => D.groups.size[b] - D.groups.size[a] || D.groups.id[a] - D.groups.id[b]).forEach((k) => {
    if (D.groups.size[k] < 2) return;
    groupSel.append(el("option", {value: D.groups.id[k]}, "group " + D.groups.id[k] + " (" + D.groups.size[k] + " people, " + D.groups.children[k] + " children)"));
  });
  groupSel.addEventListener("change", () => {
    state.group = groupSel.value === "" ? null : +groupSel.value;
    state.subset = null; state.subsetEdges = null;
    applyFilters();
    fitVisible();
  });
  $("hops").addEventListener("change", (ev) => { state.hops = +ev.target.value; applyFilters(); fitVisible(); });
  $("hl-concern").addEventListener("change", (ev) => { state.hlConcern = ev.target.checked; renderer.refresh(); });
  $("hl-broker").addEventListener("change", (ev) => { state.hlBroker = ev.target.checked; renderer.refresh(); });
  $("dim").addEventListener("change", (ev) => { state.dim = ev.target.checked; renderer.refresh(); });
  $("show-all").addEventListener("click", () => { state.all = true; applyFilters(); fitVisible(); });
  $("reset").addEventListener("click", () => {
    state = freshState();
    document.querySelectorAll("#controls input[type=checkbox]").forEach((c) => { c.checked = c.id !== "dim" && c.id !== "path-timed"; });
    for (const id of ["from", "to", "search", "path-from", "path-to", "cn-ids"]) $(id).value = "";
    groupSel.value = ""; $("hops").value = "0"; $("looked-after").value = "";
    matches.replaceChildren(); result("");
    $("panel").replaceChildren(el("p", {}, "Click a person, or find one by ID, to see their links and the evidence behind each."));
    applyFilters();
    renderer.getCamera().setState({x: 0.5, y: 0.5, ratio: 1, angle: 0});
    if (FOCUSED) fitVisible();
  new ResizeObserver(() => drawTimeline()).observe(timeline);
  });

  // --- export: CSV with spreadsheet formulas neutralised (OWASP), the view as SVG or PNG, print
  const fileName = (what) => "OFFICIAL-SENSITIVE-intel-" + what;
  function peopleRows() {
    const rows = [["person_id", "age_band", "group", "looked_after", "latest_screening_risk", "flags", "betweenness_rank", "events"]];
    for (let i = 0; i < N; i++) if (nodeVis[i]) {
      rows.push([D.nodes.id[i], D.bandLabels[D.nodes.band[i]], D.nodes.group[i], (D.nodes.flags[i] & FLAG_LOOKED_AFTER) ? "yes" : "",
        D.nodes.risk[i] >= 0 ? D.risks[D.nodes.risk[i]] : "", flagText(i).join("; "), D.nodes.rank[i] || "", D.nodes.events[i]]);
    }
    return rows;
  }
  function linkRows() {
    const rows = [["person_a", "person_b", "link_weight", "source", "relation", "theme", "event_id", "date", "grading", "handling", "grading_meaning"]];
    for (let j = 0; j < E; j++) if (edgeVis[j]) for (let k = D.edges.ev[j]; k < D.edges.ev[j + 1]; k++) {
      if (!evPass[k]) continue;
      const r = D.evidence.rel[k], code = D.grades[D.evidence.grade[k]], cond = D.evidence.cond[k];
      rows.push([D.nodes.id[D.edges.s[j]], D.nodes.id[D.edges.t[j]], D.edges.w[j], D.sources[r], D.relations[r],
        D.evidence.theme[k] >= 0 ? D.themes[D.evidence.theme[k]] : "", D.evidence.id[k], D.evidence.day[k] === null ? "" : dayText(D.evidence.day[k]),
        code, code ? (cond ? "C" : "P") : "", gradeMeaning(code, cond)]);
    }
    return rows;
  }
  $("export-people").addEventListener("click", () => download(fileName("people.csv"), new Blob([csv(peopleRows())], {type: "text/csv"})));
  $("export-links").addEventListener("click", () => download(fileName("links.csv"), new Blob([csv(linkRows())], {type: "text/csv"})));
  function viewSvg() {
    const {width, height} = renderer.getDimensions();
    const svg = svgEl("svg", {xmlns: SVGNS, width, height: height + 40, viewBox: "0 0 " + width + " " + (height + 40)});
    svg.append(svgEl("rect", {x: 0, y: 0, width, height: height + 40, fill: "#fff"}));
    const mark = (y) => { const t = svgEl("text", {x: width / 2, y, "text-anchor": "middle", "font-size": 14, "font-weight": 700, fill: "#b00020"}); t.textContent = D.meta.banner; return t; };
    svg.append(mark(15));
    const g = svgEl("g", {transform: "translate(0,20)"});
    const pos = (i) => renderer.graphToViewport({x: D.nodes.x[i], y: -D.nodes.y[i]});
    for (let j = 0; j < E; j++) if (edgeVis[j] && inView[D.edges.s[j]] && inView[D.edges.t[j]]) {
      const a = pos(D.edges.s[j]), b = pos(D.edges.t[j]);
      g.append(svgEl("line", {x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: b.x.toFixed(1), y2: b.y.toFixed(1), stroke: "#bbb", "stroke-width": edgeSize(j).toFixed(2)}));
    }
    for (let i = 0; i < N; i++) if (nodeVis[i] && inView[i]) {
      const d = renderer.getNodeDisplayData(String(i)), p = pos(i);
      const r = d ? renderer.scaleSize(d.size) : 3;
      g.append(svgEl("circle", {cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: r.toFixed(1), fill: D.colours[D.nodes.band[i]], stroke: i === state.selected ? "#000" : "none"}));
      if ((F[i] & FLAG_CONCERN) || i === state.selected || (state.subset && state.subset.has(i))) {
        const t = svgEl("text", {x: (p.x + r + 2).toFixed(1), y: (p.y + 3).toFixed(1), "font-size": 11});
        t.textContent = D.nodes.id[i]; g.append(t);
      }
    }
    svg.append(g, mark(height + 36));
    return svg;
  }
  const svgText = () => '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(viewSvg());
  $("export-svg").addEventListener("click", () => download(fileName("view.svg"), new Blob([svgText()], {type: "image/svg+xml"})));
  $("export-png").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([svgText()], {type: "image/svg+xml"}));
    const img = new Image();
    img.onload = () => {
      const canvas = el("canvas", {width: img.width, height: img.height});
      canvas.getContext("2d").drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => download(fileName("view.png"), blob), "image/png");
    };
    img.src = url;
  });
  window.addEventListener("beforeprint", () => { $("print-graph").replaceChildren(viewSvg()); });
  $("print").addEventListener("click", () => window.print());

  // --- lists and summary
  function listed(flag, title) {
    const ids = [];
    for (let i = 0; i < N; i++) if (F[i] & flag) ids.push(i);
    const box = el("div", {}, el("b", {}, title + " (" + ids.length + ")"), el("br"));
    ids.slice(0, 50).forEach((i) => box.append(personButton(i), " "));
    return box;
  }
  function drawLists() {
    $("lists").replaceChildren(listed(FLAG_CONCERN, "Adults linked to more children than chance explains"),
      listed(FLAG_YOUNG, "Young adults (18-24) linked to more children than chance: may be exploited themselves"),
      listed(FLAG_BROKER, "Brokers between groups"));
  }
  window.IntelMace.mount(D.mace, {personButton, idIndex, select, el});
  const lists = $("lists");
  lists.addEventListener("click", (ev) => { const b = ev.target.closest("button.person"); if (b) select(+b.dataset.node, true); });
  $("summary").textContent = fmt(D.counts.people) + " people (" + fmt(D.counts.children) + " children), " +
    fmt(D.counts.links) + " links, " + fmt(D.counts.evidence) + " evidence items";

  window.intel = {
    select: (id) => { if (idIndex.has(id)) select(idIndex.get(id), true); },
    visibleNodes: () => visibleNodes,
    visibleEdges: () => visibleEdges,
    visibleIds: () => visibleList().map((i) => D.nodes.id[i]),
    flagged: (flag) => { const out = []; for (let i = 0; i < N; i++) if (F[i] & (flag || FLAG_CONCERN)) out.push(D.nodes.id[i]); return out.sort(); },
    applyFilters: () => applyFilters(),
    graphOrder: () => graph.order,
    id: (i) => D.nodes.id[i],
    inViewport: (ids) => (ids ? ids.map((id) => idIndex.get(id)) : visibleList()).every((i) => {
      const d = renderer.graphToViewport({x: D.nodes.x[i], y: -D.nodes.y[i]}), {width, height} = renderer.getDimensions();
      return d.x >= -1 && d.y >= -1 && d.x <= width + 1 && d.y <= height + 1;
    }),
    viewportOf: (id) => { const i = idIndex.get(id); return renderer.graphToViewport({x: D.nodes.x[i], y: -D.nodes.y[i]}); },
    svg: () => svgText(),
    csv: {people: () => csv(peopleRows()), links: () => csv(linkRows())},
    map: map,
    focused: FOCUSED,
    renderer: renderer,
    state: () => state,
    ready: true,
  };
  const tDone = performance.now();
  window.intel.timings = {parseMs: tParsed - t0, prepareMs: tPrepared - tParsed, viewMs: tView - tPrepared, drawAndControlsMs: tDone - tView,
                          scriptMs: tDone - t0, pageMs: tDone};
  requestAnimationFrame(() => requestAnimationFrame(() => { window.intel.timings.firstFramesMs = performance.now(); }));
  document.body.dataset.ready = "true";
})();
