// SD-Turbo anime studio page: plain fetch, small named functions, every prompt shown via textContent.
"use strict";

const urls = window.STUDIO_URLS;
const options = window.STUDIO_OPTIONS;   // limits, defaults, sizes, styles: rendered by the server
const $ = (id) => document.getElementById(id);
const state = {
  clientId: Math.random().toString(36).slice(2, 12),
  controller: null,   // AbortController of the request in flight
  lastSeed: null,
  recent: [],
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
  pollHealth();
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

function setFailed(error) {
  state.ready = false;
  setHealth(`model failed to load: ${error}`, "error");
  setGenerateButton(false, "Model failed to load");
  showError(`The model failed to load: ${error}`);
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

async function generate(live) {
  if (!$("prompt").value.trim()) { showError("Type a prompt first."); return; }
  let settings;
  try { settings = readSettings(live); } catch (err) { showError(err.message); return; }
  if (state.controller) state.controller.abort();   // the newest request wins
  const controller = new AbortController();
  state.controller = controller;
  startSpinner();
  try {
    const response = await fetch(urls.generate, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(settings), signal: controller.signal,
    });
    const data = await response.json();
    if (controller !== state.controller) return;      // superseded meanwhile
    if (response.ok) { showResult(data); addRecent(data); }
    else if (response.status === 422) showRejection(data);
    else showError(describeError(response, data), response.status === 503);
    if (response.status === 503) pollHealth();   // loading (again) or busy: health says which, and when it passes
    if (!live && (response.ok || response.status === 422)) reveal(response.ok ? $("result") : $("rejection"));
  } catch (err) {
    if (err.name !== "AbortError") showError(`Request failed: ${err.message}`);
  } finally {
    if (controller === state.controller) { stopSpinner(); state.controller = null; }
  }
}

function describeError(response, data) {
  const retry = response.headers.get("Retry-After");
  return `${data.error || response.statusText}${retry ? ` (try again in ${retry} s)` : ""}`;
}

function showResult(data) {
  hide("rejection"); hide("error"); hide("placeholder");
  setStale(false);
  const src = data.src || `data:${data.mime};base64,${data.image}`;
  data.src = src;
  $("image").src = src;
  $("image").alt = data.prompt;
  show("image"); show("meta");
  $("timing").textContent = `${Math.round(data.total_ms)} ms (model ${Math.round(data.elapsed_ms)} ms, ` +
    `queue ${Math.round(data.queue_ms)} ms, batch of ${data.batch_size}) · ${data.steps} step(s) · ` +
    `${data.width}×${data.height} · ${data.style}`;
  $("seed-used").textContent = `Seed ${data.seed}`;
  $("download").href = src;
  $("download").download = `sdturbo-${data.seed}.${data.mime === "image/png" ? "png" : "jpg"}`;
  state.lastSeed = data.seed;
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

function item(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function addRecent(entry) {
  state.recent.unshift(entry);
  state.recent = state.recent.slice(0, 12);
  const thumbs = state.recent.map((recent) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.title = `${recent.prompt} · seed ${recent.seed}`;
    const img = document.createElement("img");
    img.src = recent.src;
    img.alt = recent.prompt;
    button.append(img);
    button.addEventListener("click", () => restore(recent));
    return button;
  });
  $("recent").replaceChildren(...thumbs);
}

function restore(entry) {
  if (state.controller) { state.controller.abort(); state.controller = null; stopSpinner(); }
  $("prompt").value = entry.prompt;
  $("style").value = entry.style;
  $("size").value = `${entry.width}x${entry.height}`;
  document.querySelector(`input[name=steps][value="${entry.steps}"]`).checked = true;
  $("seed").value = entry.seed;
  setSeedLock(true, false);
  showResult(entry);   // shown again, not added again
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
  if (!prompt.trim() || !state.ready) { $("verdict").textContent = ""; return; }   // re-checked once ready
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
  $("verdict").dataset.ok = String(verdict.allowed);
  $("verdict").textContent = verdict.allowed
    ? `✓ ${verdict.category === "anime" ? "anime prompt" : `neutral prompt: drawn in the ${verdict.style} style`}`
    : `✗ ${verdict.category.replaceAll("_", " ")}: ${verdict.reasons[0] || ""}`;
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

function show(id) { $(id).hidden = false; }
function hide(id) { $(id).hidden = true; }

init();
