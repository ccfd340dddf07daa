#!/usr/bin/env python3
"""Training throughput (images/sec) of AlexNet, VGG16 or ResNet50 on fake ImageNet, in Keras 3.
Prints CONTRACT.md's lines. The defaults suit a GPU; README.md gives settings for a CPU."""
import argparse, os, statistics, sys, time
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
import keras, numpy as np, tensorflow as tf
from keras import layers, optimizers
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0: fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} replicas on the CPU", file=sys.stderr)
    cpu, logical = tf.config.list_physical_devices("CPU")[0], tf.config.LogicalDeviceConfiguration
    tf.config.set_logical_device_configuration(cpu, [logical()] * NUM_GPU)  # NUM_GPU CPU devices
REPLICAS, DEVICE = max(NUM_GPU, 1), "gpu" if NUM_GPU and GPUS else "cpu"
strategy = (tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(REPLICAS)])
            if REPLICAS > 1 else tf.distribute.get_strategy())
TAG = f"framework=keras task={args.model} gpus={NUM_GPU}"
# ---- data: one fixed global batch, on the host, repeated by tf.data ------------------------
n = args.batch * REPLICAS  # the global batch, split between the replicas by fit()
x = np.random.default_rng(0).uniform(0, 255, (n, S, S, 3)).astype("float32")  # raw pixels
y = np.random.default_rng(1).integers(0, 1000, n)  # valid labels of the 1000 classes
data = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(tf.data.AUTOTUNE)
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    x = layers.Conv2D(64, 11, strides=4, activation="relu")(x)
    x = layers.MaxPooling2D(3, 2)(x)
    x = layers.Conv2D(192, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, 2)(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(3, 2)(x)
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for convs, filters in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    return x
def conv_bn(x, filters, size, stride=1):  # ResNet50's convs: no bias, then BN
    x = layers.Conv2D(filters, size, strides=stride, padding="same", use_bias=False)(x)
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = layers.MaxPooling2D(3, 2, padding="same")(layers.ReLU()(conv_bn(x, 64, 7, 2)))
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(x, filters * 4, 1, s)
            r = layers.ReLU()(conv_bn(x, filters, 1, s))
            r = layers.ReLU()(conv_bn(r, filters, 3))
            x = layers.ReLU()(layers.Add()([conv_bn(r, filters * 4, 1), short]))
    return layers.Dense(1000)(layers.GlobalAveragePooling2D()(x))
with strategy.scope():
    inputs = keras.Input((S, S, 3))
    x = globals()[args.model](layers.Rescaling(1 / 255)(inputs))  # to [0, 1] as the first op
    if args.model != "resnet50":  # AlexNet's and VGG16's classifier
        x = layers.Dropout(0.5)(layers.Dense(4096, activation="relu")(layers.Flatten()(x)))
        x = layers.Dropout(0.5)(layers.Dense(4096, activation="relu")(x))
        x = layers.Dense(1000)(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer=(optimizers.SGD if OPT == "sgd" else optimizers.RMSprop)(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)  # as in the others ("auto" would pick XLA on exactly one GPU)
# ---- timing: images/sec of each epoch, from its first step to its last --------------------
class Throughput(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        print(f"model {TAG} params={params} device={DEVICE} batch={args.batch} image_size={S} "
              f"optimizer={OPT} lr=0.001 dtype=float32 data_format=channels_last", flush=True)
        self.rates = []
    def on_epoch_begin(self, epoch, logs=None): self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(args.steps * args.batch * REPLICAS / (time.perf_counter() - self.start))
        print(f"throughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={logs['loss']:.4f}", flush=True)
    def on_train_end(self, logs=None):
        med = statistics.median(timed := self.rates[1:] or self.rates)
        print(f"summary {TAG} images_per_sec={med:.1f} epochs_timed={len(timed)} "
              f"spread_pct={(max(timed) - min(timed)) / med * 100:.1f}", flush=True)
# ---- train ---------------------------------------------------------------------------------
model.fit(data, epochs=args.epochs, steps_per_epoch=args.steps, callbacks=[Throughput()],
          verbose=2)
