#!/usr/bin/env python3
"""Training throughput (images/sec) of AlexNet, VGG16 or ResNet50 on fake ImageNet, in tflearn.
Prints CONTRACT.md's lines. The defaults suit a GPU; README.md gives settings for a CPU."""
import argparse, os, statistics, time
# ---- command line --------------------------------------------------------------------------
fail = lambda msg: p.exit(2, f"{p.prog}: error: {msg}\n")  # bad input: one line, exit 2
MIN_SIZE = {"alexnet": 67, "vgg16": 32, "resnet50": 32}  # the smallest --image-size
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.error = fail
p.add_argument("num_gpu", nargs="?", default="1", help="devices in data parallel; 0 = CPU")
p.add_argument("--model", choices=MIN_SIZE, default="resnet50")
p.add_argument("--image-size", type=int, default=224, help="height and width in pixels")
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--steps", type=int, default=100, help="steps per epoch")
p.add_argument("--batch", type=int, default=0, help="batch per device (default: 64; resnet50: 32)")
args = p.parse_args()
S, OPT = args.image_size, "sgd" if args.model == "resnet50" else "rmsprop"
if not args.num_gpu.isdigit() or min(args.epochs, args.steps, args.batch + 1) < 1:
    fail(f"NUM_GPU must be a whole number >= 0 (got {args.num_gpu!r}), --epochs/--steps >= 1")
if S < MIN_SIZE[args.model]:  # smaller images leave a pooling window with no input
    fail(f"--image-size {S} is too small for {args.model}, which needs {MIN_SIZE[args.model]}")
args.batch = args.batch or (32 if args.model == "resnet50" else 64)
NUM_GPU = int(args.num_gpu)
if NUM_GPU == 0: os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
import numpy as np, PIL.Image, tensorflow as tf
import tensorflow.python.util.nest as nest
nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.layers import (batch_normalization, conv_2d, dropout, fully_connected, input_data,
                            max_pool_2d, regression)
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0: fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1: fail(f"NUM_GPU={NUM_GPU}: tflearn has no data-parallel trainer, use 0 (CPU) or 1")
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
TAG = f"framework=tflearn task={args.model} gpus={NUM_GPU}"
# ---- data: one fixed batch, on the host, fed by DNN.fit's feed threads ---------------------
class Cycle:  # fit() takes len(X) as the epoch and feeds X[batch_ids]: --steps batches of rows
    def __init__(self, a): self.a = a  # cycling through the one batch, never all materialised
    def __len__(self): return args.steps * len(self.a)
    def __getitem__(self, ids): return self.a[np.asarray(ids) % len(self.a)]  # unshuffled ids
x = np.random.default_rng(0).uniform(0, 255, (args.batch, S, S, 3)).astype("float32")  # pixels
y = np.random.default_rng(1).integers(0, 1000, args.batch)  # valid labels of the 1000 classes
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    x = conv_2d(x, 64, 11, strides=4, padding="valid", activation="relu")
    x = max_pool_2d(x, 3, 2, padding="valid")
    x = conv_2d(x, 192, 5, activation="relu")
    x = max_pool_2d(x, 3, 2, padding="valid")
    x = conv_2d(x, 384, 3, activation="relu")
    x = conv_2d(x, 256, 3, activation="relu")
    x = conv_2d(x, 256, 3, activation="relu")
    return max_pool_2d(x, 3, 2, padding="valid")
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for convs, filters in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(convs):
            x = conv_2d(x, filters, 3, activation="relu")
        x = max_pool_2d(x, 2, padding="valid")
    return x
def conv_bn(x, filters, size, stride=1):  # ResNet50's convs: no bias, then BN
    x = conv_2d(x, filters, size, strides=stride, bias=False)
    return batch_normalization(x, decay=0.9, epsilon=1e-5)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = max_pool_2d(tf.nn.relu(conv_bn(x, 64, 7, 2)), 3, 2)  # tflearn pools 'same' by default
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(x, filters * 4, 1, s)
            r = tf.nn.relu(conv_bn(x, filters, 1, s))
            r = tf.nn.relu(conv_bn(r, filters, 3))
            x = tf.nn.relu(conv_bn(r, filters * 4, 1) + short)
    return fully_connected(tflearn.global_avg_pool(x), 1000)
net = globals()[args.model](input_data([None, S, S, 3]) / 255.0)  # to [0, 1] as the first op
if args.model != "resnet50":  # AlexNet's and VGG16's classifier; fc6 flattens its input
    net = dropout(fully_connected(net, 4096, activation="relu"), 0.5)  # keep probability 0.5
    net = dropout(fully_connected(net, 4096, activation="relu"), 0.5)
    net = fully_connected(net, 1000)
net = regression(net, metric=None, loss="softmax_categorical_crossentropy", to_one_hot=True,
                 n_classes=1000, optimizer=(tflearn.SGD if OPT == "sgd" else tflearn.RMSProp)(1e-3))
model = tflearn.DNN(net, clip_gradients=0)  # tflearn clips at global norm 5 unless told not to
# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(tflearn.callbacks.Callback):
    def on_train_begin(self, state):
        params = sum(v.shape.num_elements() for v in tf.compat.v1.trainable_variables())
        print(f"\nmodel {TAG} params={params} device={DEVICE} batch={args.batch} image_size={S} "
              f"optimizer={OPT} lr=0.001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []
    def on_epoch_begin(self, state): self.start, self.losses = time.perf_counter(), []
    def on_batch_end(self, state, snapshot=False): self.losses.append(state.loss_value)
    def on_epoch_end(self, state):
        self.rates.append(args.steps * args.batch * REPLICAS / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={np.mean(self.losses):.4f}", flush=True)
    def on_train_end(self, state):
        med = statistics.median(timed := self.rates[1:] or self.rates)
        print(f"\nsummary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)
# ---- train ---------------------------------------------------------------------------------
model.fit(Cycle(x), Cycle(y), n_epoch=args.epochs, batch_size=args.batch, shuffle=False,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
