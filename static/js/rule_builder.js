// The rule builder without round trips: add and remove rules and conditions in the page,
// and show only the answer a rule gives (a prediction or items to recommend). Without this
// file the same buttons submit the form and the server re-renders it.
(() => {
  const FIELDS = { feature: "cond", op: "cond", value: "cond", outcome: "rule", then: "rule", recommend: "rule" };

  function renumber(builder) {
    builder.querySelectorAll("[data-rule-list] > [data-rule]").forEach((rule, i) => {
      rule.querySelectorAll("[data-field]").forEach((input) => {
        const field = input.dataset.field;
        if (FIELDS[field] === "rule") input.name = `rule-${i}-${field}`;
      });
      rule.querySelector("[data-rule-remove]").value = `remove-rule-${i}`;
      rule.querySelector("[data-rule-add-condition]").value = `add-condition-${i}`;
      rule.querySelectorAll("[data-condition]").forEach((cond, j) => {
        cond.querySelectorAll("[data-field]").forEach((input) => {
          input.name = `rule-${i}-cond-${j}-${input.dataset.field}`;
        });
        cond.querySelector("[data-rule-remove-condition]").value = `remove-condition-${i}-${j}`;
      });
    });
  }

  function fromTemplate(builder, selector) {
    return builder.querySelector(selector).content.firstElementChild.cloneNode(true);
  }

  function showOutcome(rule) {
    const chosen = rule.querySelector("[data-field='outcome']")?.value || "then";
    rule.querySelectorAll("[data-outcome]").forEach((box) => {
      box.hidden = box.dataset.outcome !== chosen;
    });
  }

  function setUp(root) {
    root.querySelectorAll("[data-rule-builder] [data-rule]").forEach(showOutcome);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-rule-builder] button[name='rules_action']");
    if (!button) return;
    const builder = button.closest("[data-rule-builder]");
    const list = builder.querySelector("[data-rule-list]");
    const rule = button.closest("[data-rule]");
    if (button.matches("[data-rule-add]")) {
      const fresh = fromTemplate(builder, "template[data-rule-template]");
      list.append(fresh);
      showOutcome(fresh);
    } else if (button.matches("[data-rule-add-condition]")) {
      rule.querySelector("[data-condition-list]").append(fromTemplate(builder, "template[data-condition-template]"));
    } else if (button.matches("[data-rule-remove]")) {
      rule.remove();
      if (!list.querySelector("[data-rule]")) list.append(fromTemplate(builder, "template[data-rule-template]"));
    } else if (button.matches("[data-rule-remove-condition]")) {
      const conditions = button.closest("[data-condition-list]");
      button.closest("[data-condition]").remove();
      if (!conditions.querySelector("[data-condition]")) conditions.append(fromTemplate(builder, "template[data-condition-template]"));
    } else {
      return; // switching to the JSON view goes to the server, which converts and checks
    }
    event.preventDefault();
    renumber(builder);
    builder.querySelectorAll("[data-rule]").forEach(showOutcome);
    (button.matches("[data-rule-add], [data-rule-add-condition]")
      ? (button.matches("[data-rule-add]") ? list.lastElementChild : rule.querySelector("[data-condition]:last-child"))
      : null)?.querySelector("input")?.focus();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-rule-builder] [data-field='outcome']")) {
      showOutcome(event.target.closest("[data-rule]"));
    }
  });

  document.addEventListener("DOMContentLoaded", () => setUp(document));
  document.addEventListener("htmx:load", (event) => setUp(event.target));
})();
