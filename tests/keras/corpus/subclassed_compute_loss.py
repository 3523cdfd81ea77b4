"""A subclassed model that overrides only compute_loss (adding an L2 penalty on its outputs), trained with
the built-in fit on a synthetic regression problem; plus a custom test_step."""

import keras
import numpy as np
from _common import report
from keras import layers, ops


class PenalizedRegressor(keras.Model):
    def __init__(self, hidden=32, penalty=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.out = layers.Dense(1)
        self.penalty = penalty

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        return loss + self.penalty * ops.mean(ops.square(y_pred))

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compute_loss(x=x, y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(y, y_pred)
        return {"mae": self.metrics[-1].result()}


keras.utils.set_random_seed(1)
rng = np.random.default_rng(1)
x = rng.normal(size=(512, 4)).astype("float32")
y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.1).astype("float32")
model = PenalizedRegressor()
model.compile(
    optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=[keras.metrics.MeanAbsoluteError(name="mae")]
)
history = model.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.25)
losses = history.history["loss"]
assert losses[-1] < 0.2 * losses[0], losses
result = model.evaluate(x, y, verbose=0, return_dict=True)
assert set(result) == {"mae"} and result["mae"] < 0.5, result
report(loss=losses[-1], mae=result["mae"])
