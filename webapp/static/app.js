// Show the message of a refused HTMX request (4xx/5xx) as a toast: htmx swaps nothing then.
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const box = document.getElementById("toasts");
  if (!box) return;
  const toast = document.createElement("div");
  toast.className = "toast show align-items-center text-bg-danger border-0";
  toast.setAttribute("role", "alert");
  const body = document.createElement("div");
  body.className = "toast-body";
  // An inert document: the error page's markup is read, never rendered or run.
  const holder = new DOMParser().parseFromString(xhr.responseText, "text/html");
  const message = holder.querySelector("[data-message]");
  body.textContent = message ? message.textContent.trim() : `Request failed (${xhr.status}).`;
  toast.appendChild(body);
  // A stale edit (409 from the quote builder) offers to reload; that toast stays until used.
  const reload = holder.querySelector("a[data-reload]");
  const href = reload ? reload.getAttribute("href") : "";
  if (href && href.startsWith("/") && !href.startsWith("//")) {
    const link = document.createElement("a");
    link.className = "btn btn-sm btn-light ms-2";
    link.href = href;
    link.textContent = reload.textContent.trim();
    link.setAttribute("data-reload", "");
    body.appendChild(link);
    box.appendChild(toast);
    return;
  }
  box.appendChild(toast);
  setTimeout(() => toast.remove(), 6000);
});
// A request without a response (server down, network): say so rather than do nothing.
document.addEventListener("htmx:sendError", () => {
  const box = document.getElementById("toasts");
  if (box) box.insertAdjacentHTML("beforeend",
    '<div class="toast show text-bg-warning border-0"><div class="toast-body">' +
    "Could not reach the server. Check your connection and try again.</div></div>");
});
// Forms that must not be sent twice (Place order): disable their buttons once submitted.
// The server refuses duplicates anyway; this just spares the customer a second wait.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-submit-once]")) return;
  setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
});
// Server-sent confirmations (HX-Trigger: {"toast": "..."}) appear as a short-lived toast.
document.addEventListener("toast", (event) => {
  const box = document.getElementById("toasts");
  if (!box) return;
  const toast = document.createElement("div");
  toast.className = "toast show text-bg-success border-0";
  toast.setAttribute("role", "status");
  const body = document.createElement("div");
  body.className = "toast-body";
  body.textContent = event.detail.value;
  toast.appendChild(body);
  box.appendChild(toast);
  setTimeout(() => toast.remove(), 4000);
});
// Progress bars carry their width in data-progress: the Content-Security-Policy allows no
// style attributes, but a style set from script (CSSOM) is allowed. Runs on each swap too.
function sizeProgressBars(root) {
  root.querySelectorAll("[data-progress]").forEach((bar) => { bar.style.width = `${bar.dataset.progress}%`; });
}
document.addEventListener("DOMContentLoaded", () => sizeProgressBars(document));
document.addEventListener("htmx:load", (event) => sizeProgressBars(event.detail.elt.parentNode || event.detail.elt));
// Search suggestions close on Escape and when focus leaves the search form; a press on a
// suggestion keeps focus in the box, so the click still lands on the link.
(() => {
  const close = () => {
    const box = document.getElementById("search-suggestions");
    if (box) box.replaceChildren();
  };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.getElementById("search-suggestions")?.childElementCount) close();
  });
  document.addEventListener("focusout", (event) => {
    const form = event.target.closest?.("form[role=search]");
    if (form && !(event.relatedTarget && form.contains(event.relatedTarget))) close();
  });
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest?.("#search-suggestions")) event.preventDefault();
  });
  // A late answer for what was typed before Escape must not open the list again.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target?.id === "search-suggestions" && document.activeElement?.id !== "search-box") {
      event.detail.shouldSwap = false;
    }
  });
})();
// Search pickers (macros.html `picker`): choosing a match fills the hidden id and says what was
// chosen; Escape or leaving the picker closes the matches. No inline handlers (the CSP).
function closePicker(picker) {
  const results = picker.querySelector(".picker-results");
  if (results) results.replaceChildren();
  const search = picker.querySelector("[data-picker-search]");
  if (search) search.setAttribute("aria-expanded", "false");
}
function pick(option) {
  const picker = option.closest("[data-picker]");
  const hidden = picker.querySelector("[data-picker-value]");
  const search = picker.querySelector("[data-picker-search]");
  hidden.value = option.dataset.pickValue;
  search.value = option.dataset.pickLabel;
  picker.querySelector("[data-picker-chosen]").textContent = `Chosen: ${option.dataset.pickLabel}`;
  closePicker(picker);
  hidden.dispatchEvent(new Event("change", { bubbles: true }));
  if (picker.hasAttribute("data-submit-on-pick") && hidden.form) hidden.form.requestSubmit();
  else search.focus();
}
document.addEventListener("click", (event) => {
  const option = event.target.closest("[data-pick-value]");
  if (option) pick(option);
});
document.addEventListener("keydown", (event) => {
  const picker = event.target.closest ? event.target.closest("[data-picker]") : null;
  if (!picker) return;
  if (event.key === "Escape") { closePicker(picker); return; }
  const options = [...picker.querySelectorAll("[data-pick-value]")];
  if (event.key === "ArrowDown" && options.length) {
    event.preventDefault();
    const at = options.indexOf(document.activeElement);
    options[Math.min(at + 1, options.length - 1)].focus();
  } else if (event.key === "ArrowUp" && options.length) {
    event.preventDefault();
    const at = options.indexOf(document.activeElement);
    (at > 0 ? options[at - 1] : picker.querySelector("[data-picker-search]")).focus();
  } else if (event.key === "Enter" && event.target.matches("[data-picker-search]")) {
    // Enter chooses the first match rather than submitting the form half filled in.
    event.preventDefault();
    if (options.length) pick(options[0]);
  }
});
document.addEventListener("focusout", (event) => {
  const picker = event.target.closest ? event.target.closest("[data-picker]") : null;
  if (picker && !picker.contains(event.relatedTarget)) closePicker(picker);
});
document.addEventListener("htmx:afterSwap", (event) => {
  const search = event.detail.target.closest("[data-picker]")?.querySelector("[data-picker-search]");
  if (search) search.setAttribute("aria-expanded", event.detail.target.children.length ? "true" : "false");
});
// Quote builder: drag a line (by its handle) within or across sections, or a section among the
// sections (SortableJS). A drop fills the item's move form (the same form the ↑/↓ buttons post,
// carrying the CSRF token and the quote revision) with where it landed, and submits it; the
// server answers with the redrawn builder, or refuses a move made on an older page.
function initSortables(root) {
  if (typeof Sortable === "undefined") return;
  const fresh = (selector) => [...root.querySelectorAll(selector)].filter((list) => {
    if (list.dataset.sortableReady) return false; // htmx:load and DOMContentLoaded both come
    list.dataset.sortableReady = "1";
    return true;
  });
  fresh("[data-sortable-lines]").forEach((list) => {
    Sortable.create(list, {
      group: "quote-lines",
      handle: ".line-handle",
      forceFallback: true, // pointer events, not native drag: the same on mouse and touch
      draggable: ".quote-line",
      animation: 120,
      onEnd: (event) => {
        if (event.from === event.to && event.oldIndex === event.newIndex) return;
        const form = event.item.querySelector(".line-move-form");
        form.querySelector("input[name=section_id]").value = event.to.dataset.sectionId;
        form.querySelector("input[name=position]").value = String(event.newIndex);
        form.requestSubmit();
      },
    });
  });
  fresh("[data-sortable-sections]").forEach((list) => {
    Sortable.create(list, {
      handle: ".section-handle",
      forceFallback: true,
      draggable: ".quote-section",
      animation: 120,
      onEnd: (event) => {
        if (event.oldIndex === event.newIndex) return;
        const form = event.item.querySelector(".section-move-form");
        if (!form) return;
        form.querySelector("input[name=position]").value = String(event.newIndex);
        form.requestSubmit();
      },
    });
  });
}
document.addEventListener("DOMContentLoaded", () => initSortables(document));
document.addEventListener("htmx:load", (event) => {
  const elt = event.detail.elt;
  if (elt.querySelectorAll) initSortables(elt.parentNode || elt);
});

// Signature pad on the quote acceptance form: drawing with a mouse, pen or finger fills the
// hidden signature_drawn field with the canvas as a PNG; "Clear" empties both.
function initSignaturePads(root) {
  root.querySelectorAll("canvas[data-signature-pad]").forEach((canvas) => {
    if (canvas.dataset.signatureReady) return;
    canvas.dataset.signatureReady = "1";
    const field = document.getElementById(canvas.dataset.signaturePad);
    const context = canvas.getContext("2d");
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.strokeStyle = "#1a1a2e";
    let drawing = false;
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * canvas.width) / box.width,
        ((event.clientY - box.top) * canvas.height) / box.height,
      ];
    };
    canvas.addEventListener("pointerdown", (event) => {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      context.beginPath();
      context.moveTo(...point(event));
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      context.lineTo(...point(event));
      context.stroke();
    });
    const finish = () => {
      if (!drawing) return;
      drawing = false;
      field.value = canvas.toDataURL("image/png");
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    const clear = document.querySelector(`[data-signature-clear="${canvas.dataset.signaturePad}"]`);
    if (clear) {
      clear.addEventListener("click", () => {
        context.clearRect(0, 0, canvas.width, canvas.height);
        field.value = "";
      });
    }
  });
}
document.addEventListener("DOMContentLoaded", () => initSignaturePads(document));
