// Small progressive enhancements; every page also works without them.
document.addEventListener("click", (event) => {
  // Close open dropdowns when clicking elsewhere.
  document.querySelectorAll("details.dropdown[open]").forEach((details) => {
    if (!details.contains(event.target)) details.removeAttribute("open");
  });
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    navigator.clipboard?.writeText(copy.dataset.copy);
    copy.textContent = "Copied";
  }
});
document.addEventListener("change", (event) => {
  // <select data-autosubmit> submits its form (role changes on the members page).
  if (event.target.matches("select[data-autosubmit]") && !event.target.form.hasAttribute("hx-post")) {
    event.target.form.requestSubmit();
  }
});
document.addEventListener("click", (event) => {
  // A mention suggestion replaces the "@partial" being typed in its comment box.
  const pick = event.target.closest("[data-mention]");
  if (!pick) return;
  const list = pick.closest(".mention-list");
  const box = list?.previousElementSibling;
  if (!box || box.tagName !== "TEXTAREA") return;
  box.value = box.value.replace(/@[\w.+-]*$/, "") + "@" + pick.dataset.mention + " ";
  list.innerHTML = "";
  box.focus();
});
document.addEventListener("submit", (event) => {
  // <form data-confirm="Delete …?"> asks before submitting (no inline handlers: the
  // Content-Security-Policy forbids them).
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  // "Cancel" on a form that was inserted into the page removes the form.
  const cancel = event.target.closest("[data-remove-form]");
  if (!cancel) return;
  event.preventDefault();
  cancel.closest("form")?.remove();
});

// The top navigation is a <details> menu: collapsed on phones behind "Menu", always
// open on wider screens (where CSS hides the toggle).
const wideNav = window.matchMedia("(min-width: 900px)");
function syncNavMenu() {
  document.querySelectorAll("details[data-nav-menu]").forEach((menu) => {
    menu.open = wideNav.matches;
  });
}
wideNav.addEventListener("change", syncNavMenu);
syncNavMenu();
