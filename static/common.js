// What both pages share: element lookup, show/hide, JSON requests, error text, reading a dropped PNG's settings.
"use strict";

const $ = (id) => document.getElementById(id);

// The page's settings, rendered by the server as JSON data (the Content-Security-Policy allows no inline script).
Object.assign(window, JSON.parse($("page-data")?.textContent || "{}"));

function show(id) { $(id).hidden = false; }
function hide(id) { $(id).hidden = true; }

function item(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

// A server on the LAN may need an access key (SDTURBO_API_KEY): the page asks for it once, and the
// server keeps it in a cookie for this browser session. Every fetch waits for that, and asks again on a 401.
const nativeFetch = window.fetch.bind(window);
let access = null;     // the check (or the asking) in progress or done; shared by every fetch
let asking = false;

function ensureAccess(again = false) {
  if (access && !(again && !asking)) return access;   // a 401 during an ask waits for that same ask
  asking = again;
  access = (async () => {
    const state = await readJson(await nativeFetch("/api/session"));
    let message = "This studio needs its access key (ask whoever runs it):";
    while (state.key_required && (again || !state.authorized)) {
      const key = window.prompt(message);
      if (key === null) return false;
      const given = await nativeFetch("/api/session", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({key}),
      });
      if (given.ok) return true;
      message = "That key was not accepted. The studio's access key:";
    }
    return true;
  })().catch(() => true)   // the server could not be asked (offline): let the request itself fail and tell
    .finally(() => { asking = false; });
  return access;
}

window.fetch = async (url, init) => {
  await ensureAccess();
  const response = await nativeFetch(url, init);
  if (response.status !== 401) return response;
  return (await ensureAccess(true)) ? nativeFetch(url, init) : response;
};

// fetch with an optional JSON body; `data` is the answer's JSON, or {} when it has none (a proxy's error page).
async function send(url, method, body) {
  const init = {method};
  if (body !== undefined) {
    init.headers = {"Content-Type": "application/json"};
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  return {response, data: await readJson(response)};
}

async function readJson(response) {
  try {
    return await response.json();
  } catch (err) {
    return {};
  }
}

// The server's message (it names the field), and when to retry if it said.
function describeError(response, data) {
  const retry = response.headers.get("Retry-After");
  return `${data.error || `${response.status} ${response.statusText}`}${retry ? ` (try again in ${retry} s)` : ""}`;
}

// A PNG dropped anywhere on the page goes to `onFile`; #drop-overlay shows while one is dragged over.
function bindPngDrop(onFile) {
  let depth = 0;   // dragenter/dragleave fire for every child element crossed
  const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    show("drop-overlay");
  });
  document.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) hide("drop-overlay"); });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    hide("drop-overlay");
    onFile(event.dataTransfer.files[0]);
  });
}

// The settings inside a PNG (POST /api/png-info): {response, info}.
async function postPng(url, file) {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch(url, {method: "POST", body: form});
  return {response, info: await readJson(response)};
}
