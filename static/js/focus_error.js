// After a form comes back with errors (a full page or an htmx swap), bring the first
// error into view and put the cursor in its field, so a long form's error is never left
// scrolled out of sight. No inline handlers: the Content-Security-Policy forbids them.
(function () {
  const ERRORS = 'form [aria-invalid="true"], form .field-error, form .message-error';

  function focusFirstError(root) {
    const first = root.querySelector(ERRORS);
    if (!first) return;
    const form = first.closest("form");
    // The field itself when it is marked; else the first marked field of the form; else
    // the message (made focusable for the moment).
    const field = first.matches("input, select, textarea")
      ? first
      : form.querySelector('input[aria-invalid="true"], select[aria-invalid="true"], textarea[aria-invalid="true"]');
    const details = first.closest("details");
    if (details) details.open = true;
    first.scrollIntoView({ block: "center" });
    if (field) {
      field.focus({ preventScroll: true });
    } else {
      if (!first.hasAttribute("tabindex")) first.setAttribute("tabindex", "-1");
      first.focus({ preventScroll: true });
    }
  }

  // Deferred scripts run before DOMContentLoaded, so the first page's errors are found.
  document.addEventListener("DOMContentLoaded", () => focusFirstError(document));
  // An htmx answer: only errors inside what was swapped in (not the rest of the page).
  document.addEventListener("htmx:afterSettle", (event) => focusFirstError(event.detail.elt));
})();
