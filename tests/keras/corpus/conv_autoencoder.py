"""A convolutional autoencoder with Conv2DTranspose on synthetic 16x16 images (blurred blobs): the decoder
upsamples back to the input, and the reconstruction error falls well below the data's variance."""

import keras
import numpy as np
from _common import report
from keras import layers

rng = np.random.default_rng(5)
yy, xx = np.mgrid[0:16, 0:16]
centres = rng.uniform(3, 13, size=(256, 2))
images = np.exp(-((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2) / 16.0)
images = images[..., None].astype("float32")

keras.utils.set_random_seed(5)
inputs = keras.Input(shape=(16, 16, 1))
x = layers.Conv2D(16, 3, activation="relu", padding="same")(inputs)
x = layers.MaxPooling2D(2, padding="same")(x)
x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
x = layers.MaxPooling2D(2, padding="same")(x)
x = layers.Conv2DTranspose(8, 3, strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(16, 3, strides=2, activation="relu", padding="same")(x)
outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
autoencoder = keras.Model(inputs, outputs)
assert autoencoder.output_shape == (None, 16, 16, 1)
autoencoder.compile(optimizer=keras.optimizers.Adam(0.002), loss="mse")
history = autoencoder.fit(images, images, epochs=10, batch_size=16, shuffle=True, verbose=0)
mse = history.history["loss"][-1]
assert mse < 0.1 * images.var(), (mse, images.var())
report(mse=mse, variance=images.var())
