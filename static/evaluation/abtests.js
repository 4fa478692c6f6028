// A/B test design page: "Use in this design" copies the calculator's plan into the form.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-fill-plan]");
  if (!button) return;
  const values = JSON.parse(button.dataset.fillPlan);
  for (const [id, value] of Object.entries(values)) {
    const input = document.getElementById(id);
    if (input) input.value = value;
  }
  button.textContent = "Copied to the plan";
});
