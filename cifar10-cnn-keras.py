#!/usr/bin/env python3
"""Training throughput (images/sec) of the classic Keras CIFAR-10 CNN, written in Keras 3.

Real CIFAR-10 training set, no augmentation, RMSprop 1e-4, batch 32 per device; prints the logfmt
lines of CONTRACT.md: model, throughput per epoch (epoch 1 is warm-up), summary. See --help."""
import argparse, os, statistics, sys, time

# ---- command line --------------------------------------------------------------------------
def fail(msg):  # bad input or missing data: one line on stderr, exit code 2
    p.exit(2, f"{p.prog}: error: {msg}\n")

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", default="1", help="devices in data parallel; 0 = CPU")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--steps", type=int, default=0, help="steps per epoch (default: one pass)")
p.add_argument("--batch", type=int, default=32, help="batch per device")
p.add_argument("--data", help="folder holding cifar-10-batches-py/ (default: download)")
args = p.parse_args()
if not args.num_gpu.isdigit() or min(args.epochs, args.batch) < 1 or args.steps < 0:
    fail(f"NUM_GPU must be a whole number >= 0 (got {args.num_gpu!r}), --epochs/--batch >= 1")
NUM_GPU = int(args.num_gpu)
if NUM_GPU == 0:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
import keras
import numpy as np
import tensorflow as tf
from keras import layers
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} replicas on the CPU", file=sys.stderr)
    cpu, logical = tf.config.list_physical_devices("CPU")[0], tf.config.LogicalDeviceConfiguration
    tf.config.set_logical_device_configuration(cpu, [logical()] * NUM_GPU)  # NUM_GPU CPU devices
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
strategy = (tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(REPLICAS)])
            if REPLICAS > 1 else tf.distribute.get_strategy())
TAG = f"framework=keras task=cifar10-cnn gpus={NUM_GPU}"

# ---- data: the real CIFAR-10 training set, through Keras's own loader ----------------------
try:
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        raise FileNotFoundError(f"no cifar-10-batches-py/ folder in {args.data}")
    if args.data:  # the batch reader behind keras.datasets.cifar10.load_data()
        from keras.src.datasets.cifar import load_batch
        x, y = zip(*[load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"])
        x, y = np.concatenate(x).transpose(0, 2, 3, 1), np.concatenate(y)  # NCHW files -> NHWC
    else:
        (x, y), _ = keras.datasets.cifar10.load_data()  # downloads on first use
except Exception as e:  # missing, truncated or not downloadable
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding cifar-10-"
         "batches-py/ extracted from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(x) // (args.batch * REPLICAS)
n = STEPS * args.batch * REPLICAS  # whole batches only; fit() reshuffles on every epoch
x, y = x[:n].astype("float32") / 255.0, np.reshape(y, -1)[:n].astype("int32")  # scale to [0, 1]

# ---- model ---------------------------------------------------------------------------------
with strategy.scope():
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
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
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(1e-4), jit_compile=False,  # no auto-XLA
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        print(f"model {TAG} params={params} device={DEVICE} batch={args.batch} image_size=32 "
              "optimizer=rmsprop lr=0.0001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(STEPS * args.batch * REPLICAS / (time.perf_counter() - self.start))
        print(f"throughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={logs['loss']:.4f}", flush=True)
    def on_train_end(self, logs=None):
        timed = self.rates[1:] or self.rates
        med = statistics.median(timed)
        print(f"summary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)

# ---- train ---------------------------------------------------------------------------------
model.fit(x, y, batch_size=args.batch * REPLICAS, epochs=args.epochs, shuffle=True,
          callbacks=[Throughput()], verbose=2)
