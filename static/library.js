// The library page: a filtered, infinitely scrolling grid, a viewer dialog, bulk actions and collections.
// Plain fetch against docs/LIBRARY.md's API; every user text (prompts, notes, names) set via textContent.
"use strict";

const config = window.LIBRARY;   // pageSize, studio, api, collections, pngInfo: rendered by the server
const RESTORE_KEY = "sdturbo-restore";   // the studio page reads and removes it
const FILTERS = ["q", "starred", "collection", "size", "since", "until"];
const state = {
  entries: new Map(),   // id -> entry shown in the grid
  cursor: null,         // next_cursor of the last page; null: no more pages
  total: 0,
  seq: 0,               // numbers grid loads so a newer filter wins over a page still on its way
  loading: false,
  searchTimer: null,
  selecting: false,
  selected: new Set(),
  collections: [],
  open: null,           // the entry in the viewer
  pngSettings: null,    // settings read from a dropped PNG, for "Use in studio"
  observer: null,
};

function init() {
  bindFilters();
  bindSelection();
  bindViewer();
  bindCollections();
  bindPng();
  observeSentinel();
  loadCollections();
  reload();
  openFromLink();
}

// 1. Filters and the grid

function bindFilters() {
  $("q").addEventListener("input", () => { clearTimeout(state.searchTimer); state.searchTimer = setTimeout(reload, 300); });
  for (const id of FILTERS.slice(1)) $(id).addEventListener("change", reload);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); clearTimeout(state.searchTimer); reload(); });
  $("filters").addEventListener("reset", () => setTimeout(reload));   // after the form has cleared its fields
  $("load-more").addEventListener("click", loadPage);
}

function filterQuery() {
  const query = new URLSearchParams();
  if ($("q").value.trim()) query.set("q", $("q").value.trim());
  if ($("starred").checked) query.set("starred", "true");
  for (const id of ["collection", "size", "since", "until"]) if ($(id).value) query.set(id, $(id).value);
  return query;
}

function reload() {
  state.cursor = null;
  state.entries.clear();
  state.selected.clear();
  renderSelection();
  $("grid").replaceChildren();
  loadPage();
}

async function loadPage() {
  const seq = ++state.seq;
  const query = filterQuery();
  query.set("limit", config.pageSize);
  if (state.cursor) query.set("cursor", state.cursor);
  state.loading = true;
  try {
    const {response, data} = await send(`${config.api}?${query}`, "GET");
    if (seq !== state.seq) return;
    if (!response.ok) { showError(`Images could not be loaded: ${describeError(response, data)}`); return; }
    hide("error");
    $("grid").append(...data.items.filter((entry) => !state.entries.has(entry.id)).map(tile));
    for (const entry of data.items) state.entries.set(entry.id, entry);
    state.cursor = data.next_cursor;
    state.total = data.total;
  } catch (err) {
    if (seq === state.seq) showError(`Images could not be loaded: ${err.message}`);
  } finally {
    if (seq === state.seq) { state.loading = false; renderCounts(); checkSentinel(); }
  }
}

// Infinite scroll: the sentinel under the grid loads the next page; "Load more" is the fallback.
function observeSentinel() {
  if (!("IntersectionObserver" in window)) return;
  state.observer = new IntersectionObserver((seen) => {
    if (seen.some((entry) => entry.isIntersecting) && state.cursor && !state.loading) loadPage();
  }, {rootMargin: "600px 0px"});
  state.observer.observe($("sentinel"));
}

function checkSentinel() {
  if (!state.observer) return;
  state.observer.unobserve($("sentinel"));   // observing again reports it at once if a short page left it in view
  state.observer.observe($("sentinel"));
}

function tile(entry) {
  const li = document.createElement("li");
  li.className = "tile";
  li.dataset.id = entry.id;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "tile-open";
  open.title = entry.prompt;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.src = entry.thumb;
  img.alt = entry.prompt;
  open.append(img);
  open.addEventListener("click", () => (state.selecting ? setSelected(entry.id, !state.selected.has(entry.id)) : openViewer(entry.id)));
  const check = document.createElement("input");
  check.type = "checkbox";
  check.checked = state.selected.has(entry.id);
  check.setAttribute("aria-label", `Select: ${entry.prompt}`);
  check.addEventListener("change", () => setSelected(entry.id, check.checked));
  const label = document.createElement("label");
  label.className = "tile-check";
  label.append(check);
  const star = item("span", "★");
  star.className = "tile-star";
  star.title = "starred";
  star.hidden = !entry.starred;
  li.append(open, label, star);
  li.classList.toggle("selected", check.checked);
  return li;
}

function tileOf(id) {
  return $("grid").querySelector(`.tile[data-id="${Number(id)}"]`);
}

function updateEntry(entry) {
  if (!state.entries.has(entry.id)) return;
  state.entries.set(entry.id, entry);
  tileOf(entry.id)?.replaceWith(tile(entry));
}

function removeEntries(ids) {
  for (const id of ids) {
    if (state.entries.delete(id)) state.total -= 1;
    state.selected.delete(id);
    tileOf(id)?.remove();
  }
  renderSelection();
  renderCounts();
}

function renderCounts() {
  const filtered = FILTERS.some((id) => (id === "starred" ? $(id).checked : $(id).value.trim()));
  const one = state.total === 1;
  $("total").textContent = `${state.total} image${one ? "" : "s"}${filtered ? (one ? " matches" : " match") : ""}`;
  $("load-more").hidden = !state.cursor;
  $("empty").hidden = state.entries.size > 0 || state.loading;
  $("empty").textContent = filtered
    ? "No images match these filters."
    : "No images yet. Everything you generate in the studio is kept here.";
}

// 2. Select mode and bulk actions

function bindSelection() {
  $("select-mode").addEventListener("click", () => setSelecting(!state.selecting));
  $("select-all").addEventListener("click", () => { for (const id of state.entries.keys()) state.selected.add(id); renderSelection(); });
  $("export-selected").addEventListener("click", exportSelected);
  $("add-selected").addEventListener("click", addSelectedToCollection);
  $("delete-selected").addEventListener("click", deleteSelected);
}

function setSelecting(on) {
  state.selecting = on;
  $("select-mode").setAttribute("aria-pressed", String(on));
  $("select-mode").textContent = on ? "Done" : "Select";
  $("grid").classList.toggle("selecting", on);
  $("selection-bar").hidden = !on;
  if (!on) state.selected.clear();
  renderSelection();
}

function setSelected(id, on) {
  if (on) state.selected.add(id);
  else state.selected.delete(id);
  renderSelection();
}

function renderSelection() {
  const count = state.selected.size;
  $("selected-count").textContent = `${count} selected`;
  for (const id of ["export-selected", "delete-selected"]) $(id).disabled = count === 0;
  $("add-selected").disabled = count === 0 || !$("bulk-collection").value;
  for (const li of $("grid").children) {
    const on = state.selected.has(Number(li.dataset.id));
    li.classList.toggle("selected", on);
    li.querySelector("input").checked = on;
  }
}

async function exportSelected() {
  await busy($("export-selected"), async () => {
    const response = await fetch(`${config.api}/export`, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({ids: [...state.selected]}),
    });
    if (!response.ok) { showError(`Not exported: ${describeError(response, await readJson(response))}`); return; }
    saveBlob(await response.blob(), fileName(response.headers.get("Content-Disposition")) || "sdturbo-library.zip");
    say(`Exported ${state.selected.size} image(s).`);
  });
}

function saveBlob(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// The name in Content-Disposition: RFC 5987 filename*=UTF-8''… first, else filename="…".
function fileName(disposition) {
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition || "");
  return plain ? plain[1] : null;
}

async function addSelectedToCollection() {
  const cid = $("bulk-collection").value;
  await busy($("add-selected"), async () => {
    const {response, data} = await send(`${config.collections}/${cid}/images`, "POST", {add: [...state.selected]});
    if (!response.ok) { showError(`Not added: ${describeError(response, data)}`); return; }
    say(`Added ${state.selected.size} image(s) to ${data.name}.`);
    await loadCollections();
  });
}

async function deleteSelected() {
  const ids = [...state.selected];
  if (!confirm(`Delete ${ids.length} image(s)? Their files are removed too.`)) return;
  await busy($("delete-selected"), async () => {
    const {response, data} = await send(`${config.api}/delete`, "POST", {ids});
    if (!response.ok) { showError(`Not deleted: ${describeError(response, data)}`); return; }
    removeEntries([...data.deleted, ...data.missing]);   // missing ones are gone all the same
    say(`Deleted ${data.deleted.length} image(s).`);
    loadCollections();
  });
}

// 3. The viewer dialog

function bindViewer() {
  $("viewer-close").addEventListener("click", () => $("viewer").close());
  $("viewer").addEventListener("click", (event) => { if (event.target === $("viewer")) $("viewer").close(); });   // the backdrop
  $("viewer").addEventListener("close", () => {
    state.open = null;
    if (location.search) history.replaceState(null, "", location.pathname);   // ?open=<id> is done: a reload shows the grid
  });
  $("copy-params").addEventListener("click", copyParameters);
  $("viewer-star").addEventListener("click", () => patchOpen({starred: !state.open.starred}, "Starred"));
  $("save-note").addEventListener("click", () => patchOpen({note: $("viewer-note").value}, "Note saved"));
  $("viewer-collections").addEventListener("change", () => patchOpen({collections: checkedCollections()}, "Collections saved"));
  $("viewer-add-collection").addEventListener("click", addOpenToNewCollection);
  $("viewer-delete").addEventListener("click", deleteOpen);
}

async function openViewer(id) {
  try {
    const {response, data} = await send(`${config.api}/${encodeURIComponent(id)}`, "GET");
    if (!response.ok) { showError(`Image ${id} could not be opened: ${describeError(response, data)}`); return; }
    state.open = data;
    renderViewer(data);
    hide("viewer-error");
    $("viewer-status").textContent = "";
    if (!$("viewer").open) $("viewer").showModal();
  } catch (err) {
    showError(`Image ${id} could not be opened: ${err.message}`);
  }
}

function renderViewer(entry) {
  $("viewer-title").textContent = `Image ${entry.id}`;
  $("viewer-image").src = entry.url;
  $("viewer-image").alt = entry.prompt;
  $("viewer-image").width = entry.width;
  $("viewer-image").height = entry.height;
  $("viewer-full").href = entry.url;
  $("viewer-meta").textContent = `${new Date(entry.created).toLocaleString()} · ${entry.width}×${entry.height} · ` +
    `${entry.steps} step(s) · seed ${entry.seed} · ${entry.style}`;
  $("viewer-params").textContent = entry.parameters;
  $("rerun").href = `${config.studio}?from=${entry.id}&run=1`;
  $("vary").href = `${config.studio}?vary=${entry.id}`;
  $("upscale").href = `${config.studio}?upscale=${entry.id}`;
  $("viewer-download").href = `${entry.url}?download=1`;
  $("viewer-download").download = entry.file.split("/").pop();
  $("viewer-star").setAttribute("aria-pressed", String(entry.starred));
  $("viewer-star").textContent = entry.starred ? "★ Starred" : "☆ Star";
  $("viewer-note").value = entry.note;
  renderViewerCollections(entry);
}

function renderViewerCollections(entry) {
  const member = new Set(entry.collections.map((collection) => collection.id));
  const boxes = state.collections.map((collection) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = collection.id;
    box.checked = member.has(collection.id);
    const label = item("label", ` ${collection.name}`);
    label.className = "check";
    label.prepend(box);
    return label;
  });
  if (!boxes.length) boxes.push(item("p", "No collections yet: name one below."));
  $("viewer-collections").replaceChildren(...boxes);
}

function checkedCollections() {
  return [...$("viewer-collections").querySelectorAll("input:checked")].map((box) => Number(box.value));
}

async function patchOpen(change, done) {
  const entry = state.open;
  if (!entry) return;
  try {
    const {response, data} = await send(`${config.api}/${entry.id}`, "PATCH", change);
    if (!response.ok) { viewerError(describeError(response, data)); renderViewer(entry); return; }
    if (state.open?.id === data.id) { state.open = data; renderViewer(data); }
    hide("viewer-error");
    $("viewer-status").textContent = done;
    updateEntry(data);
    if ("collections" in change) loadCollections();
  } catch (err) {
    viewerError(err.message);
  }
}

async function addOpenToNewCollection() {
  const name = $("viewer-new-collection").value.trim();
  if (!name || !state.open) return;
  const collection = await createCollection(name, viewerError);
  if (!collection) return;
  $("viewer-new-collection").value = "";
  await patchOpen({collections: [...state.open.collections.map((c) => c.id), collection.id]}, `Added to ${collection.name}`);
}

async function deleteOpen() {
  const entry = state.open;
  if (!entry || !confirm("Delete this image? Its file is removed too.")) return;
  try {
    const {response, data} = await send(`${config.api}/${entry.id}`, "DELETE");
    if (!response.ok) { viewerError(describeError(response, data)); return; }
    $("viewer").close();
    removeEntries(data.deleted);
    say("Image deleted.");
    if (entry.collections.length) loadCollections();
  } catch (err) {
    viewerError(err.message);
  }
}

// Clipboard needs https or localhost; on a LAN address execCommand, and failing that a selection, stand in.
async function copyParameters() {
  const text = state.open?.parameters || "";
  if (await copyText(text)) { $("viewer-status").textContent = "Parameters copied"; return; }
  const range = document.createRange();
  range.selectNodeContents($("viewer-params"));
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  $("viewer-status").textContent = "Selected: copy with Ctrl+C (or long-press, Copy)";
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch (err) { /* denied: try the old way */ }
  }
  const area = document.createElement("textarea");   // inside the dialog: a modal dialog makes the rest inert
  area.value = text;
  area.readOnly = true;
  area.className = "visually-hidden";
  $("viewer").append(area);
  area.select();
  let copied = false;
  try { copied = document.execCommand("copy"); } catch (err) { /* unsupported */ }
  area.remove();
  return copied;
}

function viewerError(message) {
  $("viewer-error").textContent = message;
  show("viewer-error");
}

async function openFromLink() {
  const id = new URLSearchParams(location.search).get("open");
  if (id) await openViewer(id);
}

// 4. Collections

function bindCollections() {
  $("create-collection").addEventListener("click", async () => {
    const name = $("new-collection").value.trim();
    if (name && await createCollection(name, showError)) $("new-collection").value = "";
  });
  $("bulk-collection").addEventListener("change", renderSelection);
}

async function loadCollections() {
  try {
    const {response, data} = await send(config.collections, "GET");
    if (!response.ok) { showError(`Collections could not be loaded: ${describeError(response, data)}`); return; }
    state.collections = data.collections;
  } catch (err) {
    showError(`Collections could not be loaded: ${err.message}`);
    return;
  }
  renderCollectionFilter();
  renderCollectionsPanel();
  if (state.open) renderViewerCollections(state.open);
}

function renderCollectionFilter() {
  const choices = state.collections.map((collection) => new Option(`${collection.name} (${collection.count})`, collection.id));
  const filter = $("collection").value;
  $("collection").replaceChildren(new Option("All", ""), ...choices.map((option) => option.cloneNode(true)));
  $("collection").value = hasValue($("collection"), filter) ? filter : "";
  const bulk = $("bulk-collection").value;
  const none = new Option(state.collections.length ? "Choose a collection" : "No collections yet", "");
  $("bulk-collection").replaceChildren(none, ...choices);
  $("bulk-collection").value = hasValue($("bulk-collection"), bulk) ? bulk : "";
  renderSelection();
}

function hasValue(select, value) {
  return [...select.options].some((option) => option.value === value);
}

function renderCollectionsPanel() {
  const rows = state.collections.map((collection) => {
    const name = document.createElement("input");
    name.type = "text";
    name.maxLength = 80;
    name.value = collection.name;
    name.setAttribute("aria-label", `Name of collection ${collection.name}`);
    const rename = item("button", "Rename");
    rename.type = "button";
    rename.addEventListener("click", () => renameCollection(collection, name.value.trim()));
    const remove = item("button", "Delete");
    remove.type = "button";
    remove.className = "danger";
    remove.addEventListener("click", () => deleteCollection(collection));
    const count = item("span", String(collection.count));
    count.className = "count";
    count.title = "images";
    const li = document.createElement("li");
    li.append(name, count, rename, remove);
    return li;
  });
  $("collections-list").replaceChildren(...rows);
  $("collections-count").textContent = String(state.collections.length);
}

async function createCollection(name, onError) {
  try {
    const {response, data} = await send(config.collections, "POST", {name});
    if (!response.ok) { onError(`Collection not created: ${describeError(response, data)}`); return null; }
    await loadCollections();
    return data;
  } catch (err) {
    onError(`Collection not created: ${err.message}`);
    return null;
  }
}

async function renameCollection(collection, name) {
  if (!name || name === collection.name) return;
  const {response, data} = await send(`${config.collections}/${collection.id}`, "PATCH", {name});
  if (!response.ok) { showError(`Not renamed: ${describeError(response, data)}`); return; }
  say(`Renamed to ${data.name}.`);
  loadCollections();
}

async function deleteCollection(collection) {
  if (!confirm(`Delete the collection "${collection.name}"? Its images stay in the library.`)) return;
  const {response, data} = await send(`${config.collections}/${collection.id}`, "DELETE");
  if (!response.ok) { showError(`Not deleted: ${describeError(response, data)}`); return; }
  const filtered = $("collection").value === String(collection.id);
  await loadCollections();
  if (filtered) reload();   // the filter fell back to All
}

// 5. PNG settings: drop anywhere or pick a file, then "Use in studio"

function bindPng() {
  $("png-file").addEventListener("change", () => readPng($("png-file").files[0]));
  $("use-in-studio").addEventListener("click", useInStudio);
  $("png-dismiss").addEventListener("click", () => hide("png-panel"));
  bindPngDrop(readPng);
}

async function readPng(file) {
  if (!file) return;
  hide("png-panel");
  try {
    const {response, info} = await postPng(config.pngInfo, file);
    if (!response.ok) { showError(`${file.name}: ${describeError(response, info)}`); return; }
    hide("error");
    showPngSettings(info, file.name);
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  } finally {
    $("png-file").value = "";   // picking the same file again reads it again
  }
}

function showPngSettings(info, name) {
  const s = info.settings;
  state.pngSettings = s;
  $("png-source").textContent = `${name}: ${info.source === "a1111" ? "AUTOMATIC1111's format" : "made by this studio"}`;
  const rows = [["Prompt", s.prompt], ["Style", s.style], ["Steps", s.steps], ["Size", `${s.width}×${s.height}`], ["Seed", s.seed]];
  $("png-settings").replaceChildren(...rows.flatMap(([term, value]) => [item("dt", term), item("dd", String(value ?? "—"))]));
  $("png-warnings").replaceChildren(...(info.warnings || []).map((warning) => item("li", warning)));
  show("png-panel");
}

function useInStudio() {
  sessionStorage.setItem(RESTORE_KEY, JSON.stringify(state.pngSettings));
  location.href = config.studio;
}

// 6. Small helpers

// Disables a toolbar button while its request runs; renderSelection enables it again.
async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } catch (err) {
    showError(`Request failed: ${err.message}`);
  } finally {
    renderSelection();
  }
}

function showError(message) {
  $("error").textContent = message;
  show("error");
}

function say(message) {
  hide("error");
  $("status").textContent = message;
}

init();
