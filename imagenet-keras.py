#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16 or ResNet50 on fake ImageNet, in Keras 3."""
import argparse, os, statistics, sys, time
# ---- command line: the same text in the three imagenet-*.py scripts -----------------------
def fail(msg):  # bad input: one line on stderr, exit code 2
    p.exit(2, f"{p.prog}: error: {msg}\n")
p = argparse.ArgumentParser(description=__doc__)
p.error = fail
p.add_argument("num_gpu", nargs="?", type=int, default=1, metavar="NUM_GPU", help="devices in data parallel; 0 = CPU")
p.add_argument("--model", choices=("alexnet", "vgg16", "resnet50"), default="resnet50")
p.add_argument("--image-size", type=int, default=224, help="height and width in pixels")
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--steps", type=int, default=100, help="steps per epoch")
p.add_argument("--batch", type=int, default=0, help="batch per device (default: 64; resnet50: 32)")
p.add_argument("--xla", action="store_true", help="compile with XLA (off by default, in all three APIs)")
args = p.parse_args()
NUM_GPU, TASK, S, STEPS = args.num_gpu, args.model, args.image_size, args.steps
BATCH, MIN_S = args.batch or (32 if TASK == "resnet50" else 64), 67 if TASK == "alexnet" else 32
if NUM_GPU < 0 or min(args.epochs, STEPS, BATCH) < 1 or S < MIN_S:  # smaller: a pool gets no input
    fail(f"needs NUM_GPU >= 0, --epochs/--steps/--batch >= 1, --image-size >= {MIN_S} for {TASK}")
if NUM_GPU == 0: os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
# ---- framework and devices -----------------------------------------------------------------
import keras, numpy as np, tensorflow as tf
from keras import layers, optimizers
GPUS = len(tf.config.list_physical_devices("GPU"))
if NUM_GPU > GPUS > 0: fail(f"NUM_GPU={NUM_GPU} but only {GPUS} GPU(s) are visible")
if NUM_GPU > 1 and GPUS == 0 and args.xla:  # XLA cannot use variables of another (logical) CPU device
    fail("--xla with NUM_GPU > 1 needs GPUs: on the CPU, Keras's replicas are logical devices XLA cannot run")
if NUM_GPU > 1 and GPUS == 0:
    print(f"warning: no GPU visible, running {NUM_GPU} replicas on the CPU", file=sys.stderr)
    cpu, logical = tf.config.list_physical_devices("CPU")[0], tf.config.LogicalDeviceConfiguration
    tf.config.set_logical_device_configuration(cpu, [logical()] * NUM_GPU)  # NUM_GPU CPU devices
DEVICE, TAG = "gpu" if NUM_GPU and GPUS else "cpu", f"framework=keras task={TASK} gpus={NUM_GPU}"
strategy = (tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(NUM_GPU)])
            if NUM_GPU > 1 else tf.distribute.get_strategy())
# ---- data: one fixed global batch, on the host, repeated by tf.data ------------------------
n = BATCH * max(NUM_GPU, 1)  # the global batch, split between the replicas by fit()
x = np.random.default_rng(0).uniform(0, 255, (n, S, S, 3)).astype("float32")  # raw pixels
y = np.random.default_rng(1).integers(0, 1000, n)  # valid labels of the 1000 classes
data = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(tf.data.AUTOTUNE)
# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU ----
def alexnet(x):
    x = layers.MaxPooling2D(3, 2)(layers.Conv2D(64, 11, strides=4, activation="relu")(x))
    x = layers.MaxPooling2D(3, 2)(layers.Conv2D(192, 5, padding="same", activation="relu")(x))
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(3, 2)(layers.Conv2D(256, 3, padding="same", activation="relu")(x))  # conv5, pool5
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
    x = globals()[TASK](layers.Rescaling(1 / 255)(inputs))  # to [0, 1] as the first op
    if TASK != "resnet50":  # AlexNet's and VGG16's classifier
        x = layers.Dropout(0.5)(layers.Dense(4096, activation="relu")(layers.Flatten()(x)))
        x = layers.Dropout(0.5)(layers.Dense(4096, activation="relu")(x))
        x = layers.Dense(1000)(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer=optimizers.SGD(1e-3) if TASK == "resnet50" else optimizers.RMSprop(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=args.xla)  # as in the others ("auto" would pick XLA on exactly one GPU)
# ---- timing: images/sec of each epoch, from its first step to its last (CONTRACT.md's lines, printed as everywhere)
class Throughput(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):  # the model line's keys, read from the compiled model and its optimizer
        opt, conv = model.optimizer, next(l for l in model.layers if isinstance(l, layers.Conv2D))
        hyper = [float(np.asarray(getattr(opt, k, 0))) for k in ("learning_rate", "rho", "momentum", "epsilon")]
        self.rates, self.replicas = [], strategy.num_replicas_in_sync
        keys = dict(replicas=self.replicas, device=DEVICE, batch=BATCH, image_size=S, optimizer=type(opt).__name__,
                    params=sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                    **{k: f"{v:g}" if v else "none" for k, v in zip(("lr", "rho", "momentum", "epsilon"), hyper)},
                    clip=next((f"{c:g}" for c in (opt.global_clipnorm, opt.clipnorm) if c), "none"), dtype=conv.compute_dtype,
                    data_format=conv.data_format, intra_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                    xla=model.jit_compile)  # as resolved by compile()
        print(f"\nmodel {TAG}", *[f"{k}={v}" for k, v in keys.items()], flush=True)
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):  # the mean loss of the epoch's steps
        self.rates.append(STEPS * BATCH * self.replicas / (time.perf_counter() - self.start))
        print(f"\nthroughput {TAG} epoch={len(self.rates)} images_per_sec={self.rates[-1]:.1f} "
              f"loss={logs['loss']:.4f}", flush=True)
    def on_train_end(self, logs=None):  # epoch 1 is the warm-up
        print(f"\nsummary {TAG} images_per_sec={statistics.median(self.rates[1:] or self.rates):.1f}", flush=True)
# ---- train ---------------------------------------------------------------------------------
model.fit(data, epochs=args.epochs, steps_per_epoch=STEPS, callbacks=[Throughput()], verbose=2)
