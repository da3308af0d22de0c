// Files for a reply: picked with "Attach files", dropped on the composer or
// pasted (a screenshot). Each shows as a chip with a preview and "Remove
// <name>"; the file input always holds exactly the chips' files, so Send
// posts them with the text. Limits are checked here before any upload, and
// again by the server.
(function () {
  "use strict";
  const chosen = new WeakMap(); // composer form -> DataTransfer of its files

  function box(form) { return form.querySelector(".attachments"); }
  function filesOf(form) {
    let files = chosen.get(form);
    if (!files) { files = new DataTransfer(); chosen.set(form, files); }
    return files;
  }

  function size(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function refusal(form, file, total, count) {
    const limits = box(form).dataset;
    const maxBytes = Number(limits.maxBytes);
    const suffix = (file.name.match(/\.[^.]+$/) || [""])[0].toLowerCase();
    if (file.size === 0) return file.name + " is empty.";
    if (file.size > maxBytes) return file.name + " is " + size(file.size) + "; Messenger takes files up to " + size(maxBytes) + ".";
    if (suffix && limits.refusedSuffixes.split(" ").indexOf(suffix) >= 0) return file.name + " is a program or script; Messenger does not send those.";
    if (count >= Number(limits.maxFiles)) return "Send at most " + limits.maxFiles + " files at once.";
    if (total + file.size > maxBytes) return "With " + file.name + " the files would be over " + size(maxBytes) + " in all: send it next.";
    return "";
  }

  function addFiles(form, files) {
    const current = filesOf(form);
    const problems = [];
    let total = Array.from(current.files).reduce(function (sum, file) { return sum + file.size; }, 0);
    Array.from(files).forEach(function (file) {
      const problem = refusal(form, file, total, current.files.length);
      if (problem) { problems.push(problem); return; }
      current.items.add(file);
      total += file.size;
    });
    const error = box(form).querySelector(".attach-error");
    error.textContent = problems.join(" ");
    error.hidden = problems.length === 0;
    render(form);
  }

  // A stored response's file, fetched by responses.js as the agent inserts it.
  document.addEventListener("connect:attach", function (event) {
    const form = composerOf(event.target);
    if (form && canAttach(form)) addFiles(form, event.detail.files);
  });
  document.addEventListener("connect:attach-failed", function (event) {
    const form = composerOf(event.target);
    if (!form) return;
    const error = box(form).querySelector(".attach-error");
    error.textContent = "The file of this response (" + (event.detail.name || "file") + ") could not be attached; attach it again.";
    error.hidden = false;
  });

  function removeFile(form, index) {
    const kept = new DataTransfer();
    Array.from(filesOf(form).files).forEach(function (file, n) { if (n !== index) kept.items.add(file); });
    chosen.set(form, kept);
    box(form).querySelector(".attach-error").hidden = true;
    render(form);
  }

  function render(form) {
    const files = filesOf(form).files;
    const input = form.querySelector(".attach-input");
    input.files = files;
    const list = box(form).querySelector(".attachment-chips");
    list.querySelectorAll("img").forEach(function (image) { URL.revokeObjectURL(image.src); });
    list.replaceChildren();
    Array.from(files).forEach(function (file, index) {
      const chip = document.createElement("li");
      chip.className = "attachment-chip";
      if (file.type.startsWith("image/")) {
        const preview = document.createElement("img");
        preview.src = URL.createObjectURL(file);
        preview.alt = "";
        chip.append(preview);
      } else {
        const icon = document.createElement("span");
        icon.className = "chip-icon";
        icon.setAttribute("aria-hidden", "true");
        icon.textContent = file.type.startsWith("video/") ? "🎬" : file.type.startsWith("audio/") ? "🎵" : "📄";
        chip.append(icon);
      }
      const label = document.createElement("span");
      label.className = "chip-name";
      label.textContent = file.name;
      const weight = document.createElement("span");
      weight.className = "chip-size";
      weight.textContent = size(file.size);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.dataset.removeIndex = String(index);
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.title = "Remove " + file.name;
      remove.textContent = "×";
      chip.append(label, weight, remove);
      list.append(chip);
    });
    list.hidden = files.length === 0;
  }

  function composerOf(element) { return element && element.closest && element.closest("form.composer"); }

  document.addEventListener("change", function (event) {
    if (!event.target.matches(".attach-input")) return;
    const form = composerOf(event.target);
    // The input now holds only the new pick: add it to the files already chosen.
    addFiles(form, Array.from(event.target.files));
  });

  document.addEventListener("click", function (event) {
    const remove = event.target.closest(".chip-remove");
    if (!remove) return;
    removeFile(composerOf(remove), Number(remove.dataset.removeIndex));
  });

  function canAttach(form) { const input = form && form.querySelector(".attach-input"); return input && !input.disabled; }

  document.addEventListener("dragover", function (event) {
    const form = composerOf(event.target);
    if (!canAttach(form) || !event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
    event.preventDefault();
    form.classList.add("dropping");
  });
  document.addEventListener("dragleave", function (event) {
    const form = composerOf(event.target);
    if (form && !form.contains(event.relatedTarget)) form.classList.remove("dropping");
  });
  document.addEventListener("drop", function (event) {
    const form = composerOf(event.target);
    if (!canAttach(form) || !event.dataTransfer || event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    form.classList.remove("dropping");
    addFiles(form, event.dataTransfer.files);
  });

  // A pasted screenshot has no name of its own: it gets one saying when it was taken.
  document.addEventListener("paste", function (event) {
    const form = composerOf(event.target);
    const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    if (!canAttach(form) || files.length === 0) return;
    event.preventDefault();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    addFiles(form, files.map(function (file, n) {
      if (file.name && file.name !== "image.png") return file;
      const suffix = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
      return new File([file], "screenshot-" + stamp + (n ? "-" + n : "") + "." + suffix, { type: file.type });
    }));
  });

  // Upload progress of a Send that carries files.
  document.addEventListener("htmx:xhr:loadstart", function (event) {
    const form = composerOf(event.detail.elt);
    if (!form || filesOf(form).files.length === 0) return;
    const bar = box(form).querySelector(".upload-progress");
    bar.value = 0;
    bar.hidden = false;
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = composerOf(event.detail.elt);
    if (!form || !event.detail.lengthComputable) return;
    box(form).querySelector(".upload-progress").value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
})();
