#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on real CIFAR-10, in Keras 3 on
TensorFlow, JAX or torch (--backend). No augmentation, RMSprop 1e-4, batch 32 per device. The
lines that say `bench.` (bench.py, beside this file) are the measurement: command line, clock and
fingerprint."""
import bench
args = bench.parse("cifar10-cnn", "keras", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import contextlib
import keras
import numpy as np
from keras import layers

DEVICE = bench.device(bench.keras_gpus(), logical_cpus=True)
devices = [f"{DEVICE}:{i}" for i in range(args.num_gpu)]  # NUM_GPU replicas in data parallel
scope = contextlib.nullcontext()  # one device
if args.num_gpu > 1 and args.backend == "jax":  # Keras's own data parallel (JAX)
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
elif args.num_gpu > 1:  # TensorFlow's (torch has none)
    import tensorflow as tf
    scope = tf.distribute.MirroredStrategy(devices).scope()
if args.amp:  # Keras's mixed precision (compile() adds loss scaling for float16)
    policy = "mixed_float16" if DEVICE == "gpu" else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy)
keras.config.set_image_data_format(args.data_format)  # the layers' layout (default channels_last)

# ---- data: the real CIFAR-10 training set, through Keras's own loader --------------------------
with bench.cifar_data():
    if args.data:  # the batch reader behind keras.datasets.cifar10.load_data()
        from keras.src.datasets.cifar import load_batch
        batches = [load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"]
        x = np.concatenate([b[0] for b in batches]).transpose(0, 2, 3, 1)  # NCHW files -> NHWC
        y = np.concatenate([b[1] for b in batches])
    else:
        (x, y), _ = keras.datasets.cifar10.load_data()  # downloads on first use
n = bench.steps(len(x)) * args.batch * args.replicas  # whole batches; fit() reshuffles each epoch
x = x[:n].astype("float32") / 255.0  # scale to [0, 1]; numpy arrays feed fit() on every backend
y = np.reshape(y, -1)[:n].astype("int32")

# ---- model ---------------------------------------------------------------------------------------
with scope:
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Permute((3, 1, 2)) if args.data_format == "channels_first" else layers.Identity(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="valid", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10),
        layers.Activation("linear", dtype="float32"),  # the logits in float32, for the loss
    ])
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=args.xla,  # not "auto", which picks XLA on exactly one GPU; JAX: always
    )


# ---- timing: Keras's callback around each epoch, bench's clock -----------------------------------
class Throughput(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        bench.train_begin(bench.keras_keys(self.model))

    def on_epoch_begin(self, epoch, logs=None):
        bench.epoch_begin()

    def on_epoch_end(self, epoch, logs=None):  # the mean loss of the epoch's steps
        bench.epoch_end(logs["loss"])

    def on_train_end(self, logs=None):
        bench.train_end()


# ---- train ---------------------------------------------------------------------------------------
model.fit(x, y, batch_size=args.batch * args.replicas, epochs=args.epochs, shuffle=True,
          callbacks=[Throughput()], verbose=2)
