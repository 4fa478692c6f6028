"""Run by the MLflow venv's interpreter (not by pytest): fit a small scikit-learn classifier
on the iris data, save it as an MLflow model in argv[1], and print some rows with the
model's own `predict` for them, as JSON on the last line."""

import json
import sys

import mlflow.sklearn
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
names = np.array(["setosa", "versicolor", "virginica"])
model = LogisticRegression(max_iter=500).fit(X, names[y])
mlflow.sklearn.save_model(model, sys.argv[1], input_example=X.head(2))
rows = X.iloc[[0, 60, 70, 83, 120, 133]]
print(json.dumps({"rows": rows.to_dict("records"), "predictions": model.predict(rows).tolist()}))
