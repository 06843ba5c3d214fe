// SD-Turbo anime studio page: plain fetch, small named functions, every prompt shown via textContent.
// iterate.js (loaded after this file) adds variations, image to image, sketch and upscale; it calls
// readSettings, imageCount, requestImages, imageSrc, showPick, showEntry, setSeedLock, showError and state
// from here, and this file calls its showGrid (with every new picture), openVary, upscaleCurrent and remake.
"use strict";

const urls = window.STUDIO_URLS;
const options = window.STUDIO_OPTIONS;   // limits, defaults, sizes, styles: rendered by the server
const RESTORE_KEY = "sdturbo-restore";   // the library page leaves settings here for "Use in studio"
const state = {
  clientId: Math.random().toString(36).slice(2, 12),
  controller: null,   // AbortController of the request in flight
  lastSeed: null,
  recent: [],          // library entries, newest first (or generate answers when the library is off)
  current: null,       // what the result shows: {entry} kept in the library, {keepUrl} a live preview, or null
  pendingRun: null,    // what to run once the model is ready: /?from=<id>&run=1, /?upscale=<id>
  liveTimer: null,
  validateTimer: null,
  seq: 0,            // numbers our requests so the server never lets an older one win
  validateSeq: 0,
  tick: null,
  ready: false,      // the model is loaded: Generate is enabled
  healthTimer: null,
  healthInFlight: false,
};

function init() {
  bindEvents();
  bindPngDrop(loadPng);
  pollHealth();
  loadRecent();
  restoreFromLink();
}

function bindEvents() {
  $("generate").addEventListener("click", () => generate(false));
  $("prompt").addEventListener("input", onPromptInput);
  $("style").addEventListener("change", onPromptInput);
  for (const id of ["size", "seed"]) $(id).addEventListener("change", onSettingChange);
  for (const radio of document.querySelectorAll("input[name=steps]")) radio.addEventListener("change", onSettingChange);
  $("live").addEventListener("change", onLiveToggle);
  $("seed-lock").addEventListener("click", () => setSeedLock($("seed-lock").getAttribute("aria-pressed") !== "true"));
  $("seed-random").addEventListener("click", () => { setSeedLock(false); $("seed").value = ""; });
  $("seed").addEventListener("input", () => setSeedLock($("seed").value !== "", false));
  $("copy-seed").addEventListener("click", copySeed);
  $("keep").addEventListener("click", () => keepPreview(false));
  $("keep-star").addEventListener("click", () => keepPreview(true));
  $("star").addEventListener("click", toggleStar);
  $("png-file").addEventListener("change", () => loadPng($("png-file").files[0]));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!$("generate").disabled) generate(false);
    }
  });
}

// Polls /healthz until the model is ready; Generate stays disabled meanwhile.
async function pollHealth() {
  if (state.healthInFlight) return;
  state.healthInFlight = true;
  clearTimeout(state.healthTimer);
  let delay = 1000;
  try {
    const response = await fetch(urls.health);
    const health = await response.json();
    if (response.ok) { setReady(health); return; }
    if (health.status === "error") { setFailed(health.error); delay = 5000; }
    else if (health.status === "unavailable") {   // Ray Serve replicas down: say so, keep checking
      setFailed(health.ray.message || health.ray.status, "The GPU replicas are unavailable");
      delay = 5000;
    }
    else setLoading();
  } catch (err) {
    setHealth("server unreachable, retrying…", "error");
  } finally {
    state.healthInFlight = false;
  }
  state.healthTimer = setTimeout(pollHealth, delay);
}

function setReady(health) {
  const noise = health.random_weights ? " · random test weights: images are noise" : "";
  setHealth(`ready · ${health.label} on ${health.device}${noise}`, "ok");
  setGenerateButton(true, "Generate");
  if (state.ready) return;
  state.ready = true;
  if ($("error").dataset.transient === "true") hide("error");   // "still loading, try again" no longer holds
  if (state.pendingRun) { const run = state.pendingRun; state.pendingRun = null; run(); return; }
  if ($("prompt").value.trim()) {
    validateSoon();
    if ($("live").checked) scheduleLive();
  }
}

function setLoading() {
  state.ready = false;
  setHealth("loading model…", "loading");
  setGenerateButton(false, "Loading model…");
}

function setFailed(error, what = "The model failed to load") {
  state.ready = false;
  setHealth(`${what.toLowerCase()}: ${error}`, "error");
  setGenerateButton(false, what);
  showError(`${what}: ${error}`);
}

function setGenerateButton(enabled, label) {
  $("generate").disabled = !enabled;
  $("generate-label").textContent = label;
}

function setHealth(text, status) {
  $("health").textContent = text;
  $("health").dataset.status = status;
}

function readSettings(live) {
  const [width, height] = $("size").value.split("x").map(Number);
  const seedText = $("seed").value.trim();
  if ($("seed").validity.badInput || (seedText !== "" && !$("seed").checkValidity())) {
    const [min, max] = options.limits.seed;
    throw new Error(`Seed must be a whole number from ${min} to ${max}, or empty for a random one.`);
  }
  return {
    prompt: $("prompt").value,
    style: $("style").value,
    steps: Number(document.querySelector("input[name=steps]:checked").value),
    seed: seedText === "" ? null : Number(seedText),
    width, height,
    format: live ? "jpeg" : "png",
    live,
    client_id: state.clientId,
    seq: ++state.seq,
  };
}

// How many images a request makes (n); live previews are always one.
function imageCount() {
  return Number(document.querySelector("input[name=count]:checked")?.value || 1);
}

async function generate(live) {
  if (!$("prompt").value.trim()) { showError("Type a prompt first."); return; }
  let settings;
  try { settings = readSettings(live); } catch (err) { showError(err.message); return; }
  if (!live && imageCount() > 1) settings.n = imageCount();
  await requestImages(urls.generate, settings, live);
}

// POSTs `body` (an object as JSON, or FormData), the newest request winning; shows the image(s), a
// rejection, or the error through `report`. Answers the JSON of a shown answer, or null.
async function requestImages(url, body, live, report = showError) {
  if (state.controller) state.controller.abort();   // the newest request wins
  const controller = new AbortController();
  state.controller = controller;
  startSpinner();
  const json = !(body instanceof FormData);   // FormData sets its own multipart Content-Type
  const init = {method: "POST", signal: controller.signal, body: json ? JSON.stringify(body) : body};
  if (json) init.headers = {"Content-Type": "application/json"};
  try {
    const response = await fetch(url, init);
    const data = await readJson(response);
    if (controller !== state.controller) return null;      // superseded meanwhile
    if (response.ok) showAnswer(data);
    else if (response.status === 422 && data.reasons) showRejection(data);
    else report(describeError(response, data), response.status === 503);
    if (response.status === 503) pollHealth();   // loading (again) or busy: health says which, and when it passes
    if (!live && (response.ok || response.status === 422)) reveal(response.ok ? $("result") : $("rejection"));
    return response.ok ? data : null;
  } catch (err) {
    if (err.name !== "AbortError") report(`Request failed: ${err.message}`);
    return null;
  } finally {
    if (controller === state.controller) { stopSpinner(); state.controller = null; }
  }
}

// One image, or {n, images}: each new image goes to Recent once; several make a grid (iterate.js) showing the first.
function showAnswer(data) {
  const images = data.images || [data];
  setRecent([...images.flatMap(recentEntry), ...state.recent]);
  showPick(images[0]);
  showGrid(images);
}

// The image of an answer as the current one (a new result, or a grid pick shown again).
function showPick(data) {
  showResult(data);
  showLibraryState(data);
}

// What Recent shows of a new image: its library entry, the answer itself when the library is off, or nothing.
function recentEntry(data) {
  imageSrc(data);
  if (!data.library) return [data];
  return data.library.saved ? [data.library.entry] : [];
}

function imageSrc(data) {
  data.src = data.src || `data:${data.mime};base64,${data.image}`;
  return data.src;
}

function showResult(data) {
  const src = imageSrc(data);
  showImage(src, data.prompt);
  $("timing").textContent = `${Math.round(data.total_ms)} ms (model ${Math.round(data.elapsed_ms)} ms, ` +
    `queue ${Math.round(data.queue_ms)} ms, batch of ${data.batch_size}) · ${data.steps} step(s) · ` +
    `${strengthText(data)}${data.width}×${data.height} · ${data.style}`;
  $("seed-used").textContent = `Seed ${data.seed}`;
  $("parameters").textContent = data.parameters || "";
  $("download").href = src;
  $("download").download = `sdturbo-${data.seed}.${data.mime === "image/png" ? "png" : "jpg"}`;
  state.lastSeed = data.seed;
}

// A library entry: its full image and settings (a Recent thumbnail, or /?from=<id>).
function showEntry(entry) {
  showImage(entry.url, entry.prompt);
  $("timing").textContent = `${entry.steps} step(s) · ${strengthText(entry)}${entry.width}×${entry.height} · ` +
    `${entry.style} · ${entry.model} · made ${new Date(entry.created).toLocaleString()}`;
  $("seed-used").textContent = `Seed ${entry.seed}`;
  $("parameters").textContent = entry.parameters || "";
  state.lastSeed = entry.seed;
  state.current = {entry};
  renderLibraryButtons();
}

// Image to image results name their strength: with the seed, steps and size they make the image again.
function strengthText(data) {
  return data.strength == null ? "" : `strength ${data.strength} · `;
}

function showImage(src, alt) {
  hide("rejection"); hide("error"); hide("placeholder"); hide("library-notice");
  setStale(false);
  $("image").src = src;
  $("image").alt = alt;
  show("image"); show("meta");
}

function showRejection(data) {
  hide("error");
  if (data.verdict) { ++state.validateSeq; showVerdict(data.verdict); }   // the hint under the prompt agrees
  const reasons = $("reasons");
  reasons.replaceChildren(...data.reasons.map((reason) => item("li", reason)));
  const buttons = data.suggestions.map((suggestion) => {
    const button = item("button", suggestion);
    button.type = "button";
    button.addEventListener("click", () => useSuggestion(suggestion));
    return button;
  });
  $("suggestions").replaceChildren(...buttons);
  show("rejection");
  if (!$("image").hidden) setStale(true);   // the picture on screen is not an answer to this prompt
}

function setStale(stale) {
  $("result").classList.toggle("stale", stale);
  $("stale-note").hidden = !stale;
}

// Phones stack the result under the controls: bring a new answer into view unless it already is.
function reveal(element) {
  if (getComputedStyle(document.documentElement).getPropertyValue("--layout").trim() !== "stacked") return;
  const box = element.getBoundingClientRect();
  if (box.top >= 0 && box.bottom < window.innerHeight + 2) return;   // scrolling rounds to whole pixels
  element.scrollIntoView({behavior: "smooth", block: "nearest"});
}

function useSuggestion(text) {
  $("prompt").value = text;
  hide("rejection");
  validateSoon();
  generate($("live").checked);
}

function showError(message, transient = false) {
  $("error").textContent = message;
  $("error").dataset.transient = String(transient);   // a transient one clears when the model is ready
  show("error");
}

// Recent is the newest part of the library, so a reload keeps it.
async function loadRecent() {
  try {
    const {response, data} = await send(`${urls.library}?limit=12`, "GET");
    if (response.ok) setRecent([...state.recent, ...data.items]);   // images made while it loaded come first
    else if (response.status !== 404) recentNote(`Recent images could not be loaded: ${describeError(response, data)}`);
  } catch (err) {
    recentNote(`Recent images could not be loaded: ${err.message}`);
  }
}

function recentNote(text) {
  $("recent-note").textContent = text;
  show("recent-note");
}

function addRecent(entry) {
  setRecent([entry, ...state.recent]);
}

// Newest first, one thumbnail per library id, at most 12.
function setRecent(entries) {
  const ids = new Set();
  const unique = entries.filter((entry) => entry.id === undefined || (!ids.has(entry.id) && ids.add(entry.id)));
  state.recent = unique.slice(0, 12);
  const thumbs = state.recent.map((recent) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.title = `${recent.prompt} · seed ${recent.seed}`;
    const img = document.createElement("img");
    img.src = recent.thumb || recent.src;
    img.alt = recent.prompt;
    button.append(img);
    button.addEventListener("click", () => restore(recent));
    return button;
  });
  $("recent").replaceChildren(...thumbs);
}

function restore(entry) {
  if (state.controller) { state.controller.abort(); state.controller = null; stopSpinner(); }
  fillForm(entry);
  if (entry.id === undefined) showResult(entry);   // the library is off: this page's own copy
  else showEntry(entry);   // shown again, not added again
  showGrid([]);
}

// Puts saved settings in the form and locks the seed; answers what could not be applied.
function fillForm(settings) {
  const warnings = [];
  $("prompt").value = settings.prompt ?? "";
  if (hasOption($("style"), settings.style)) $("style").value = settings.style;
  else if (settings.style) warnings.push(`Style "${settings.style}" is not offered here; kept ${$("style").value}.`);
  if (settings.width && settings.height) selectSize(settings.width, settings.height);
  const steps = document.querySelector(`input[name=steps][value="${Number(settings.steps)}"]`);
  if (steps) steps.checked = true;
  else if (settings.steps != null) warnings.push(`${settings.steps} steps is not offered here; kept the steps selected.`);
  $("seed").value = settings.seed ?? "";
  setSeedLock(settings.seed != null, false);
  if (settings.strength != null) {
    $("strength").value = settings.strength;
    warnings.push(`Made from an init image at strength ${settings.strength}: give one under From an image.`);
  }
  $("strength").dispatchEvent(new Event("input"));   // iterate.js: the strength and steps it shows follow the form
  validateSoon();
  return warnings;
}

function hasOption(select, value) {
  return [...select.options].some((option) => option.value === value);
}

// A size that is not a preset gets an option of its own: the server checks it on Generate.
function selectSize(width, height) {
  const value = `${width}x${height}`;
  if (!hasOption($("size"), value)) $("size").append(new Option(`${width}×${height}`, value));
  $("size").value = value;
}

// What the library did with the image shown: saved (★), held as a live preview (Keep), or failed (a notice).
function showLibraryState(data) {
  const library = data.library;
  state.current = null;
  if (!library) return renderLibraryButtons();   // the library is off: Recent lives in this page only
  if (library.saved) state.current = {entry: state.recent.find((r) => r.id === library.entry.id) || library.entry};   // starred since?
  else if (library.preview_id) state.current = {keepUrl: library.keep_url};
  else if (library.error) notice(`Not saved to the library: ${library.error.replace(/^not saved to the library:\s*/i, "")}`, "warn");
  renderLibraryButtons();
}

function renderLibraryButtons() {
  const entry = state.current?.entry;
  $("keep").hidden = $("keep-star").hidden = !state.current?.keepUrl;
  $("star").hidden = $("open-library").hidden = $("upscale").hidden = !entry;
  if (!entry) return;
  setStarButton($("star"), entry.starred);
  $("open-library").href = `${urls.libraryPage}?open=${entry.id}`;
  $("download").href = `${entry.url}?download=1`;   // the library's PNG: its settings restore it
  $("download").download = `sdturbo-${entry.seed}.png`;
}

function setStarButton(button, starred) {
  button.setAttribute("aria-pressed", String(starred));
  button.textContent = starred ? "★ Starred" : "☆ Star";
}

function notice(text, tone) {
  $("library-notice").textContent = text;
  $("library-notice").dataset.tone = tone;
  show("library-notice");
}

// Live previews are held in memory by the server; Keep (or ★) writes one to the library.
async function keepPreview(starred) {
  const keepUrl = state.current?.keepUrl;
  if (!keepUrl) return;
  $("keep").disabled = $("keep-star").disabled = true;
  try {
    const {response, data} = await send(keepUrl, "POST", starred ? {starred: true} : {});
    const stillShown = state.current?.keepUrl === keepUrl;   // or a newer preview replaced it meanwhile
    if (response.ok) addRecent(data);
    if (!stillShown) return;
    if (response.ok) { state.current = {entry: data}; notice(starred ? "Kept and starred" : "Kept", "ok"); }
    else if (response.status === 404) {
      state.current = null;
      notice("This preview is no longer held by the server (it keeps only the newest few). Generate it again to keep it.", "warn");
    } else notice(`Not kept: ${describeError(response, data)}`, "warn");
  } catch (err) {
    notice(`Not kept: ${err.message}`, "warn");
  } finally {
    $("keep").disabled = $("keep-star").disabled = false;
    renderLibraryButtons();
  }
}

async function toggleStar() {
  const entry = state.current?.entry;
  if (!entry) return;
  try {
    const {response, data} = await send(`${urls.library}/${entry.id}`, "PATCH", {starred: !entry.starred});
    if (!response.ok) { notice(`Not starred: ${describeError(response, data)}`, "warn"); return; }
    if (state.current?.entry?.id === data.id) state.current = {entry: data};
    setRecent(state.recent.map((recent) => (recent.id === data.id ? data : recent)));
    renderLibraryButtons();
  } catch (err) {
    notice(`Not starred: ${err.message}`, "warn");
  }
}

// /?from=<id>[&run=1] (the library's Re-run), /?vary=<id> and /?upscale=<id> (its Vary this and Upscale),
// or settings the library page left in sessionStorage.
async function restoreFromLink() {
  const query = new URLSearchParams(location.search);
  const saved = sessionStorage.getItem(RESTORE_KEY);
  sessionStorage.removeItem(RESTORE_KEY);
  const action = ["from", "vary", "upscale"].find((name) => query.has(name));
  if (action) {
    history.replaceState(null, "", location.pathname);   // a reload does not run it again
    const id = query.get(action);
    if (action === "vary") { if (await restoreById(id)) openVary(); }
    else await restoreById(id, action === "upscale" ? () => upscaleCurrent() : query.get("run") === "1" ? rerun : null);
  } else if (saved) {
    try { showPngNote("Settings loaded from the library.", fillForm(JSON.parse(saved))); } catch (err) { /* not ours */ }
  }
}

// Shows library image `id` with its settings in the form, then `run(entry)` once the model is ready; false if it failed.
async function restoreById(id, run = null) {
  try {
    const {response, data} = await send(`${urls.library}/${encodeURIComponent(id)}`, "GET");
    if (!response.ok) { showError(`Image ${id} could not be loaded: ${describeError(response, data)}`); return false; }
    restore(data);
    if (run && state.ready) run(data);
    else state.pendingRun = run && (() => run(data));   // setReady runs it
    return true;
  } catch (err) {
    showError(`Image ${id} could not be loaded: ${err.message}`);
    return false;
  }
}

// The library's Re-run: an image-to-image result again from its recorded init image (iterate.js), else text to image.
function rerun(entry) {
  if (entry.init_sha256) remake(entry);
  else generate(false);
}

// Drop a PNG anywhere (or pick one: phones cannot drag) to load the settings inside it.
async function loadPng(file) {
  if (!file) return;
  hide("png-note");
  try {
    const {response, info} = await postPng(urls.pngInfo, file);
    if (!response.ok) { showError(`${file.name}: ${describeError(response, info)}`); return; }
    hide("error");
    const source = info.source === "a1111" ? "AUTOMATIC1111's format" : "this studio";
    showPngNote(`Settings loaded from ${file.name} (${source}).`, [...(info.warnings || []), ...fillForm(info.settings)]);
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  } finally {
    $("png-file").value = "";   // picking the same file again loads it again
  }
}

function showPngNote(text, warnings) {
  $("png-source").textContent = text;
  $("png-warnings").replaceChildren(...warnings.map((warning) => item("li", warning)));
  show("png-note");
}

function setSeedLock(locked, fill = true) {
  $("seed-lock").setAttribute("aria-pressed", String(locked));
  $("seed-lock").textContent = locked ? "Locked" : "Lock";
  if (fill && locked && $("seed").value === "") {
    const [min, max] = options.limits.seed;
    $("seed").value = state.lastSeed ?? min + Math.floor(Math.random() * (max - min + 1));
  }
  if (fill && !locked) $("seed").value = "";
}

function onLiveToggle() {
  // a fixed seed makes the picture follow the words instead of jumping with new noise
  if ($("live").checked) { setSeedLock(true); scheduleLive(); }
  else clearTimeout(state.liveTimer);
}

function onSettingChange() {
  if ($("live").checked) scheduleLive();
}

function onPromptInput() {
  validateSoon();
  if ($("live").checked) scheduleLive();
}

function scheduleLive() {
  clearTimeout(state.liveTimer);
  state.liveTimer = setTimeout(() => {
    if ($("live").checked && $("prompt").value.trim()) generate(true);
  }, options.live_debounce_ms);
}

function validateSoon() {
  clearTimeout(state.validateTimer);
  state.validateTimer = setTimeout(validatePrompt, 300);
}

async function validatePrompt() {
  const prompt = $("prompt").value;
  const seq = ++state.validateSeq;
  if (!prompt.trim() || !state.ready) { $("verdict").textContent = ""; hide("verdict-offer"); return; }   // re-checked once ready
  let response, verdict;
  try {
    response = await fetch(urls.validate, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({prompt, style: $("style").value}),
    });
    verdict = await response.json();
  } catch (err) {
    return;   // the check is a hint while typing; Generate reports real errors
  }
  if (seq !== state.validateSeq) return;   // a newer check is on its way
  if (!response.ok) { $("verdict").textContent = verdict.error; $("verdict").dataset.ok = "false"; return; }
  showVerdict(verdict);
}

function showVerdict(verdict) {
  $("verdict").dataset.ok = verdict.band === "middle" ? "near" : String(verdict.allowed);
  $("verdict").textContent = verdict.band === "middle"
    ? `≈ allowed, ${verdict.note}`
    : verdict.allowed
      ? `✓ ${verdict.category === "anime" ? "anime prompt" : `neutral prompt: drawn in the ${verdict.style} style`}`
      : `✗ ${verdict.category.replaceAll("_", " ")}: ${verdict.reasons[0] || ""}`;
  showOffer(verdict);
}

// what the verdict offers before generating: tags read as a phrase, or rewrites near the line
function showOffer(verdict) {
  const offers = [];
  let note = "";
  if (verdict.tag_phrase) {
    note = verdict.tag_applied
      ? `Tags are drawn as: “${verdict.tag_phrase}”`
      : `Tags read as: “${verdict.tag_phrase}” (the model draws phrases better than tags)`;
    if (!verdict.tag_applied) offers.push(["Use this phrase", verdict.tag_phrase]);
  }
  if (verdict.band === "middle") {
    for (const suggestion of verdict.suggestions) offers.push([suggestion, suggestion]);
  }
  $("verdict-note").textContent = note;
  $("verdict-options").replaceChildren(...offers.map(([label, text]) => {
    const button = item("button", label);
    button.type = "button";
    button.addEventListener("click", () => { $("prompt").value = text; hide("verdict-offer"); validateSoon(); });
    return button;
  }));
  $("verdict-offer").hidden = !offers.length && !note;
}

function startSpinner() {
  const started = performance.now();
  let queued = "", ticks = 0;
  show("spinner");
  clearInterval(state.tick);
  state.tick = setInterval(async () => {
    $("spinner-text").textContent = `generating… ${((performance.now() - started) / 1000).toFixed(1)} s${queued}`;
    if (++ticks % 7 === 0) queued = await queueText();   // a slow request: show how busy the server is
  }, 100);
}

async function queueText() {
  try {
    const health = await (await fetch(urls.health)).json();
    return health.queue_depth ? ` · ${health.queue_depth} waiting in queue` : "";
  } catch (err) {
    return "";
  }
}

function stopSpinner() {
  clearInterval(state.tick);
  hide("spinner");
}

async function copySeed() {
  if (state.lastSeed === null) return;
  try {
    await navigator.clipboard.writeText(String(state.lastSeed));
    $("copy-seed").textContent = "Copied";
  } catch (err) {
    $("copy-seed").textContent = `Seed ${state.lastSeed}`;   // clipboard needs https or localhost
  }
  setTimeout(() => { $("copy-seed").textContent = "Copy seed"; }, 1500);
}

init();
