// Podium's pages work without JavaScript, forms included; this file adds live logs, stage watching,
// the Embed dialog, dropping files with a progress bar, and changes made without leaving the page.
// Nothing here loads from another host.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// Live logs: each <pre data-stream> follows one SSE endpoint (Hugging Face's
// `data: {"data": ..., "timestamp": ...}` lines). The server-rendered tail is replaced by the
// stream's own tail so no line is shown twice.
function followLog(box) {
  const follow = document.querySelector(`[data-follow="${box.id}"]`);
  let first = true;
  const source = new EventSource(box.dataset.stream);
  // Each (re)connection starts with the log's tail again: show it in place of what is there.
  source.onopen = () => { first = true; };
  source.onmessage = (event) => {
    if (first) { box.textContent = ""; first = false; }
    let line;
    try { line = JSON.parse(event.data).data; } catch { line = event.data; }
    box.append(document.createTextNode(line.endsWith("\n") ? line : line + "\n"));
    if (!follow || follow.checked) box.scrollTop = box.scrollHeight;
  };
}
document.querySelectorAll("pre[data-stream]").forEach(followLog);
document.querySelectorAll("pre.logbox").forEach((box) => { box.scrollTop = box.scrollHeight; });

// A building or starting space: reload when its stage changes, into the app once it serves.
const watched = document.querySelector("[data-watch-stage]");
if (watched) {
  const timer = setInterval(async () => {
    const response = await fetch(watched.dataset.watchStage, { cache: "no-store" });
    if (!response.ok) return;
    const { stage } = await response.json();
    if (stage !== watched.dataset.stageNow) { clearInterval(timer); location.reload(); }
  }, 1500);
}

// Embed dialog: the link works without JS (a page); with JS it opens the dialog in place.
document.querySelectorAll("[data-open-dialog]").forEach((link) => {
  link.addEventListener("click", (event) => {
    const dialog = document.getElementById(link.dataset.openDialog);
    if (!dialog?.showModal) return;
    event.preventDefault();
    dialog.showModal();
  });
});
document.querySelectorAll("textarea[data-copy]").forEach((area) => {
  area.addEventListener("focus", () => area.select());
});

// New space: collect dropped folders (keeping relative paths) and send them with a progress bar,
// through the API (without this script the form posts itself to /new).
const form = document.querySelector("form[data-upload]");
if (form) setUpUploadForm(form);

function setUpUploadForm(form) {
  const drop = form.querySelector("[data-drop]");
  const picked = form.querySelector("#picked");
  const progressBox = form.querySelector("#progress-box");
  const progress = form.querySelector("#progress");
  const errorBox = form.querySelector("#upload-error");
  let chosen = []; // [relativePath, File]

  const show = () => {
    picked.textContent = chosen.length
      ? `${chosen.length} file${chosen.length > 1 ? "s" : ""}: ${chosen.slice(0, 6).map(([p]) => p).join(", ")}${chosen.length > 6 ? ", …" : ""}`
      : "Nothing chosen yet.";
    if (chosen.length) form.querySelector('input[name="source"][value="upload"]').checked = true;
  };
  // A folder chosen with webkitdirectory carries its own name first ("demo/app.py"): the space's
  // files are what is inside it, so that first part goes.
  const stripTop = (entries) => {
    const tops = new Set(entries.map(([p]) => p.split("/")[0]));
    const nested = entries.every(([p]) => p.includes("/"));
    return tops.size === 1 && nested ? entries.map(([p, f]) => [p.split("/").slice(1).join("/"), f]) : entries;
  };
  form.querySelectorAll('input[type="file"]').forEach((input) => {
    input.addEventListener("change", () => {
      chosen = stripTop([...input.files].map((f) => [f.webkitRelativePath || f.name, f]));
      show();
    });
  });

  const readEntry = (entry, prefix) => new Promise((resolve) => {
    if (entry.isFile) {
      entry.file((file) => resolve([[prefix + file.name, file]]), () => resolve([]));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const next = () => reader.readEntries(async (batch) => {
        if (!batch.length) {
          const nested = await Promise.all(all.map((e) => readEntry(e, `${prefix}${entry.name}/`)));
          resolve(nested.flat());
        } else { all.push(...batch); next(); }
      }, () => resolve([]));
      next();
    } else resolve([]);
  });
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
    event.preventDefault(); drop.classList.add("over");
  }));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    // Both read now: the DataTransfer is emptied once this handler yields.
    const entries = [...event.dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
    const plain = [...event.dataTransfer.files].map((f) => [f.name, f]);
    const walked = (await Promise.all(entries.map((e) => readEntry(e, "")))).flat();
    // Where entries exist they are the truth: a folder with no files in it chooses nothing, never
    // the folder itself as a file that cannot be read.
    chosen = stripTop(entries.length ? walked : plain);
    show();
  });

  const fail = (message) => {
    progressBox.hidden = true;
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: "nearest" });
  };
  const call = async (url, init) => {
    const response = await fetch(url, { credentials: "same-origin", ...init,
      headers: { "X-CSRF-Token": csrf, ...(init.headers || {}) } });
    const answer = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, answer };
  };
  // The upload goes through XMLHttpRequest: fetch cannot report upload progress.
  const upload = (url, data) => new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
    request.onload = () => {
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch { /* not JSON: use the status */ }
      resolve({ ok: request.status < 300, status: request.status, answer });
    };
    request.onerror = () => resolve({ ok: false, status: 0, answer: {} });
    request.send(data);
  });
  let created = null; // a space this page already made, so a retried upload does not meet 409

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const fields = new FormData(form);
    const owner = fields.get("owner").trim();
    const name = fields.get("name").trim();
    const sdk = fields.get("sdk");
    const id = `${owner}/${name}`;
    const fromTemplate = fields.get("source") === "template";
    if (!fromTemplate && !chosen.length) return fail("Choose a folder or a .zip to upload, or start from a template.");
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      if (created !== id) {
        const made = await call("/api/repos/create", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ type: "space", name, organization: owner, sdk, private: fields.get("private") === "true" }),
        });
        if (!made.ok) return fail(made.answer.error || `Creating ${id} failed (HTTP ${made.status}).`);
        created = id;
      }
      let result;
      if (fromTemplate) {
        result = await call(`/spaces/${id}/template?sdk=${encodeURIComponent(sdk)}`, { method: "POST" });
      } else {
        const data = new FormData();
        for (const [path, file] of chosen) data.append("files", file, path);
        progressBox.hidden = false;
        progress.value = 0;
        result = await upload(`/api/spaces/${id}/upload`, data);
      }
      if (!result.ok) {
        return fail(`${id} was created, but its files were refused: ${result.answer.error || `HTTP ${result.status}`}. ` +
          "Fix them and press Create space again to upload them to it.");
      }
      progress.value = 100;
      location.assign(`/spaces/${id}`);
    } catch {
      fail("Podium could not be reached. Check the connection and try again.");
    } finally {
      submit.disabled = false;
    }
  });
}

// Settings and other changes: <form data-api="/api/..." data-method="POST"> is a plain form for the
// pages (its action); here it sends its fields as JSON to Podium's API instead, with the session
// cookie and the CSRF token in its header, then reloads (or goes to data-redirect).
document.querySelectorAll("form[data-api]").forEach((form) => {
  const status = document.createElement("p");
  status.className = "flash error";
  status.setAttribute("role", "alert");
  status.hidden = true;
  form.append(status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.hidden = true;
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.name === "csrf_token") continue;
      body[field.name] = field.type === "number" ? Number(field.value) : field.value;
    }
    if (form.dataset.confirm !== undefined) {
      if (body.confirm !== form.dataset.confirm) {
        status.textContent = `Type ${form.dataset.confirm} exactly to confirm.`;
        status.hidden = false;
        return;
      }
      delete body.confirm;
    }
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.dataset.api, {
        method: form.dataset.method || "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (response.ok) { location.assign(form.dataset.redirect || location.href); return; }
      const answer = await response.json().catch(() => ({}));
      status.textContent = answer.error || `Podium answered HTTP ${response.status}.`;
    } catch {
      status.textContent = "Podium could not be reached. Check the connection and try again.";
    }
    status.hidden = false;
    buttons.forEach((b) => { b.disabled = false; });
  });
});

// Live stage badges on the home page: one small request every few seconds while the page is shown.
const cards = document.querySelectorAll("li.card[data-space]");
if (cards.length) {
  setInterval(async () => {
    if (document.hidden) return;
    const response = await fetch("/stages.json", { cache: "no-store" });
    if (!response.ok) return;
    const stages = await response.json();
    for (const card of cards) {
      const badge = card.querySelector(".stage");
      const now = stages[card.dataset.space];
      if (!badge || !now || badge.dataset.stage === now.stage) continue;
      badge.dataset.stage = now.stage;
      badge.className = `stage ${now.kind}`;
      badge.textContent = now.label;
    }
  }, 4000);
}
