// The page keeps itself up to date, never needed: on each event of its case's stream it fetches
// its page again (the stream's address less "/stream") and swaps in its live parts ([data-live],
// by id). Without it, a reload does it.
(() => {
  const root = document.querySelector("[data-stream]");
  if (!root || !window.EventSource || !window.DOMParser) return;
  const page = root.dataset.stream.replace(/\/stream$/, "");
  let timer = null;
  let busy = false;
  let again = false;

  // A part someone is writing in, or has opened a fold of, is left alone until they are done.
  const changed = (field) => {
    if (field.type === "hidden") return false;
    if (field.type === "file") return field.files.length > 0;
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      const first = [...field.options].findIndex((o) => o.defaultSelected);
      return field.selectedIndex !== Math.max(first, 0);
    }
    return field.value !== field.defaultValue;
  };
  const inUse = (part) => {
    const focus = document.activeElement;
    if (focus && part.contains(focus) && focus.matches("input, textarea, select")) return true;
    if (part.querySelector("details.fold[open]")) return true;
    return [...part.querySelectorAll("input, textarea, select")].some(changed);
  };

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      // The page's own address: after a refused form, the browser shows the form's answer.
      const answer = await fetch(page, { credentials: "same-origin" });
      if (!answer.ok) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      let left = false;
      for (const part of document.querySelectorAll("[data-live]")) {
        const next = fresh.getElementById(part.id);
        if (!next || next.innerHTML === part.innerHTML) continue;
        if (inUse(part)) { left = true; continue; }
        part.replaceWith(document.adoptNode(next));
      }
      if (left) setTimeout(soon, 3000);
    } catch (error) {
      setTimeout(soon, 3000);  // the server is away for a moment: try again
    } finally {
      busy = false;
      if (again) { again = false; soon(); }
    }
  }
  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 100); }

  const source = new EventSource(`${root.dataset.stream}?after=${encodeURIComponent(root.dataset.after || "0")}`);
  source.onmessage = soon;
  for (const type of (root.dataset.events || "").split(" ")) if (type) source.addEventListener(type, soon);
  source.addEventListener("open", () => document.documentElement.dataset.live = "on");
})();
