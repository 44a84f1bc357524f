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

// New space: collect dropped folders (keeping relative paths) and send them to /new with a progress
// bar (without this script the form posts itself there).
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
  // The form goes to /new as it would without this script, with the chosen files named by their
  // paths, through XMLHttpRequest: fetch cannot report upload progress. Asked for JSON, /new
  // answers a new space with 201 at its Location, and a refusal with {"error": ...}.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const data = new FormData(form);
    data.delete("folder");
    data.delete("files");
    for (const [path, file] of chosen) data.append("files", file, path);
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    progressBox.hidden = !chosen.length;
    progress.value = 0;
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
    request.onload = () => {
      if (request.status === 201) { location.assign(request.getResponseHeader("Location")); return; }
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch { /* not JSON: use the status */ }
      fail(answer.error || `Podium answered HTTP ${request.status}.`);
      submit.disabled = false;
    };
    request.onerror = () => {
      fail("Podium could not be reached. Check the connection and try again.");
      submit.disabled = false;
    };
    request.send(data);
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
