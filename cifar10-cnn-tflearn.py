#!/usr/bin/env python3
"""Training throughput (images/sec) of the classic Keras CIFAR-10 CNN, written in tflearn.

Real CIFAR-10 training set, no augmentation, RMSprop 1e-4, batch 32 per device; prints the logfmt
lines of CONTRACT.md: model, throughput per epoch (epoch 1 is warm-up), summary. See --help."""
import argparse, os, statistics, time

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
import numpy as np
import PIL.Image
import tensorflow as tf
import tensorflow.python.util.nest as nest
nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.datasets.cifar10 import load_batch, load_data
from tflearn.layers import conv_2d, dropout, fully_connected, input_data, max_pool_2d, regression
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0:
    fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1:
    fail(f"NUM_GPU={NUM_GPU}: tflearn has no data-parallel trainer, use 0 (CPU) or 1")
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
TAG = f"framework=tflearn task=cifar10-cnn gpus={NUM_GPU}"

# ---- data: the real CIFAR-10 training set, through tflearn's own loader --------------------
try:
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        raise FileNotFoundError(f"no cifar-10-batches-py/ folder in {args.data}")
    if args.data:  # the batch reader behind tflearn.datasets.cifar10.load_data()
        x, y = zip(*[load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"])
        x, y = np.concatenate(x).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / 255, np.concatenate(y)
    else:
        (x, y), _ = load_data()  # downloads on first use; images already in [0, 1]
except Exception as e:  # missing, truncated or not downloadable
    fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding cifar-10-"
         "batches-py/ extracted from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
STEPS = args.steps or len(x) // (args.batch * REPLICAS)
n = STEPS * args.batch * REPLICAS  # whole batches only; fit() reshuffles on every epoch
x, y = x[:n].astype("float32"), np.asarray(y)[:n].astype("int32")

# ---- model ---------------------------------------------------------------------------------
net = input_data([None, 32, 32, 3])
net = conv_2d(net, 32, 3, padding="same", activation="relu")
net = conv_2d(net, 32, 3, padding="valid", activation="relu")
net = max_pool_2d(net, 2, padding="valid")
net = dropout(net, 0.75)  # tflearn takes the keep probability: drop rate 0.25
net = conv_2d(net, 64, 3, padding="same", activation="relu")
net = conv_2d(net, 64, 3, padding="valid", activation="relu")
net = max_pool_2d(net, 2, padding="valid")
net = dropout(net, 0.75)
net = fully_connected(net, 512, activation="relu")  # flattens its input
net = dropout(net, 0.5)
net = fully_connected(net, 10)
net = regression(net, optimizer=tflearn.RMSProp(1e-4), loss="softmax_categorical_crossentropy",
                 metric=None, to_one_hot=True, n_classes=10)  # integer labels, no accuracy op
model = tflearn.DNN(net, clip_gradients=0)  # tflearn clips at global norm 5 unless told not to

# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(tflearn.callbacks.Callback):
    def on_train_begin(self, state):
        params = sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables())
        print(f"\nmodel {TAG} params={params} device={DEVICE} batch={args.batch} image_size=32 "
              "optimizer=rmsprop lr=0.0001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []
    def on_epoch_begin(self, state):
        self.start, self.losses = time.perf_counter(), []
    def on_batch_end(self, state, snapshot=False):
        self.losses.append(state.loss_value)
    def on_epoch_end(self, state):
        self.rates.append(STEPS * args.batch * REPLICAS / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={np.mean(self.losses):.4f}", flush=True)
    def on_train_end(self, state):
        timed = self.rates[1:] or self.rates
        med = statistics.median(timed)
        print(f"\nsummary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)

# ---- train ---------------------------------------------------------------------------------
model.fit(x, y, n_epoch=args.epochs, batch_size=args.batch * REPLICAS, shuffle=True,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
