"""An MLflow-compatible tracking endpoint under /mlflow/: the official mlflow client, pointed
at MLFLOW_TRACKING_URI=http://HOST/mlflow with MLFLOW_TRACKING_TOKEN=<API token>, logs into
a project's ordinary runs. Experiments are the projects of the token's organization."""
