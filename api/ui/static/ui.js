// A little help, never needed: every page works without it.
document.addEventListener("DOMContentLoaded", () => {
  // Bring a refusal into view and to the keyboard's attention.
  const problem = document.getElementById("problem");
  if (problem) problem.focus();
});
// One click, one action: a double click must not send a form twice (also for forms a live
// page swapped in after it loaded).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
  setTimeout(() => { for (const button of form.querySelectorAll("button")) button.disabled = true; });
});
// Coming back with the browser's Back button shows the page as it was left: make it usable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll("form button")) button.disabled = false;
});
