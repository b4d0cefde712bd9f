"""Models-from-code entry point of the riskcast pyfunc model (MLflow loads this file).

MLflow copies this file into the logged model and runs it at load time; the model's
settings (name, options, forecast defaults) come from the MLmodel's ``model_config`` (plain
JSON/YAML), so nothing is pickled.
"""

from mlflow.models import set_model

from experiments.pyfunc_model import RiskcastForecaster

set_model(RiskcastForecaster())
