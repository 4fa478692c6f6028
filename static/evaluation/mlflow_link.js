// The link the mlflow client prints ("/mlflow/#/experiments/3/runs/7"): the fragment never
// reaches the server, so turn it into a query ("?experiment=3&run=7") and reload.
const match = location.hash.match(/experiments\/(\d+)(?:\/runs\/(\d+))?/);
if (match) {
  const query = new URLSearchParams({ experiment: match[1] });
  if (match[2]) query.set("run", match[2]);
  location.replace(location.pathname + "?" + query);
}
