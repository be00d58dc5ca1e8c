"use strict";
// The explorer's MACE view: the MACE 1 children in the list's order, each with the indicators met and the
// evidence behind each, and the MACE 2 places. Every value is data: it reaches the page as text (IntelLib.el).
window.IntelMace = (function () {
  const PAGE = 100;  // children drawn at a time; "Show more" draws the next ones

  function ageText(age, la) {
    const parts = [age === null ? "age unknown" : "aged " + age];
    if (la === 1) parts.push("looked after"); else if (la === 0) parts.push("not recorded as looked after");
    return parts.join(", ");
  }

  function child(M, k, button, el) {
    const c = M.children, met = c.ev[k];
    const names = met.map(([i]) => M.labels[i]);
    const head = el("div", {class: "mace-head"}, el("span", {class: "mace-rank"}, c.rank[k] + ". "), button(c.id[k]),
      " - " + ageText(c.age[k], c.la[k]) + " - " + met.length + (met.length === 1 ? " indicator" : " indicators") +
      (c.latest[k] ? ", latest evidence " + c.latest[k] : ""));
    const list = el("ul", {class: "mace-evidence"});
    for (const [i, text] of met) {
      list.append(el("li", {"data-indicator": M.indicators[i]}, el("b", {}, M.labels[i]), ": ", text || "no detail recorded"));
    }
    return el("li", {class: "mace-child", "data-person": c.id[k], "data-indicators": met.map(([i]) => M.indicators[i]).join(" ")},
      head, el("div", {class: "mace-met small"}, "Indicators met: " + names.join("; ")), list);
  }

  function placesTable(P, el) {
    if (!P) return el("p", {class: "small"}, "No places list: locations of concern were not given.");
    if (!P.rank.length) return el("p", {class: "small"}, "No locations of concern are held (run the locations analysis).");
    const head = ["#", "Place", "Children linked", "of them on the list", "Events", "Last linked"];
    const table = el("table", {id: "mace-places"}, el("tr", {}, ...head.map((h) => el("th", {}, h))));
    for (let k = 0; k < P.rank.length; k++) {
      table.append(el("tr", {}, el("td", {}, P.rank[k]), el("td", {}, P.name[k]), el("td", {}, P.children[k]),
        el("td", {}, P.mace[k]), el("td", {}, P.events[k]), el("td", {}, P.last[k] === null ? "-" : P.last[k])));
    }
    return table;
  }

  // The MACE view as one element. button(id) makes the control that selects a person in the graph (or a
  // plain label when they are not in it).
  function panel(M, button, el) {
    const n = M.children.id.length;
    const list = el("ol", {id: "mace-list"});
    let drawn = 0;
    const more = el("button", {type: "button", id: "mace-more"}, "Show more");
    const drawMore = () => {
      const stop = Math.min(n, drawn + PAGE);
      for (; drawn < stop; drawn++) list.append(child(M, drawn, button, el));
      more.hidden = drawn >= n;
      more.textContent = "Show more (" + (n - drawn) + " not shown)";
    };
    more.addEventListener("click", drawMore);
    drawMore();
    const total = M.total === undefined ? n : M.total;
    return el("div", {},
      el("p", {class: "small"}, "MACE 1: " + total + (total === 1 ? " child meets" : " children meet") + " at least one " +
        "indicator (" + M.period + "), sorted by the number and strength of indicators, then the latest evidence. " +
        "A child at risk is listed for the panel to discuss; the list is not a finding about them."),
      total > n ? el("p", {class: "small mace-note", id: "mace-cut"}, "This page holds the first " + n + " of them; " +
        "ctxrisk mace gives the whole list.") : null,
      ...M.notes.map((t) => el("p", {class: "small mace-note"}, t)),
      n ? list : el("p", {}, "No child meets an indicator in this window."), more,
      el("h3", {}, "MACE 2: places"), placesTable(M.places, el));
  }

  // Put the view in #mace (hidden without a list); a click on a child selects and zooms to them in the graph.
  function mount(M, {personButton, idIndex, select, el}) {
    const box = document.getElementById("mace-box"), body = document.getElementById("mace");
    if (!M) { box.hidden = true; return; }
    const button = (id) => idIndex.has(id) ? personButton(idIndex.get(id))
      : el("span", {class: "not-in-graph", title: "no link in the association graph"}, id + " (not in the graph)");
    body.replaceChildren(panel(M, button, el));
    document.getElementById("mace-count").textContent = " (" + (M.total === undefined ? M.children.id.length : M.total) + " children)";
    body.addEventListener("click", (ev) => { const b = ev.target.closest("button.person"); if (b) select(+b.dataset.node, true); });
  }

  return {panel, mount, PAGE};
})();
