#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16 or ResNet50 on fake ImageNet, in Keras 3: one constant
batch of random pixels and valid labels on the host. The lines that say `bench.` (bench.py, beside
this file) are the measurement: command line, clock and fingerprint."""
import bench
args = bench.parse("imagenet", "keras", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import keras
import numpy as np
import tensorflow as tf
from keras import layers, optimizers
DEVICE = bench.device(tf.config.list_physical_devices("GPU"), logical_cpus=True)
strategy = tf.distribute.get_strategy()  # the default: one device
if args.num_gpu > 1:  # NUM_GPU replicas in data parallel
    strategy = tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(args.num_gpu)])
if args.amp:  # Keras's mixed precision (compile() adds loss scaling for float16)
    policy = "mixed_float16" if DEVICE == "gpu" else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy)
keras.config.set_image_data_format(args.data_format)  # the layers' layout (default channels_last)

# ---- data: one fixed global batch, on the host, repeated by tf.data ------------------------------
S = args.image_size
x, y = bench.fake_imagenet(args.batch * args.replicas)  # the global batch; fit() splits it
data = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(tf.data.AUTOTUNE)

# ---- model: the same layers in all three scripts; every conv and fc 4096 ends in a ReLU --------
AXIS = 1 if args.data_format == "channels_first" else -1  # the channels, for batch norm
def alexnet(x):
    x = layers.Conv2D(64, 11, strides=4, activation="relu")(x)
    x = layers.MaxPooling2D(3, 2)(x)
    x = layers.Conv2D(192, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, 2)(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    return classifier(layers.MaxPooling2D(3, 2)(x))
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for convs, filters in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    return classifier(x)
def classifier(x):  # AlexNet's and VGG16's
    x = layers.Flatten()(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(1000)(x)
def conv_bn(x, filters, size, stride=1):  # ResNet50's convs: no bias, then batch norm
    x = layers.Conv2D(filters, size, strides=stride, padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=AXIS, momentum=0.9, epsilon=1e-5)(x)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = layers.ReLU()(conv_bn(x, 64, 7, 2))
    x = layers.MaxPooling2D(3, 2, padding="same")(x)
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(x, filters * 4, 1, s)
            r = layers.ReLU()(conv_bn(x, filters, 1, s))
            r = layers.ReLU()(conv_bn(r, filters, 3))
            x = layers.ReLU()(layers.Add()([conv_bn(r, filters * 4, 1), short]))
    return layers.Dense(1000)(layers.GlobalAveragePooling2D()(x))

with strategy.scope():
    inputs = keras.Input((S, S, 3))
    x = layers.Rescaling(1 / 255)(inputs)  # to [0, 1] first
    if args.data_format == "channels_first":
        x = layers.Permute((3, 1, 2))(x)  # NHWC batches -> NCHW
    logits = layers.Activation("linear", dtype="float32")(globals()[args.model](x))  # for the loss
    model = keras.Model(inputs, logits)
    opt = optimizers.SGD(1e-3) if args.model == "resnet50" else optimizers.RMSprop(1e-3)
    model.compile(optimizer=opt, jit_compile=args.xla,  # not "auto": XLA on exactly one GPU
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

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
model.fit(data, epochs=args.epochs, steps_per_epoch=args.steps, callbacks=[Throughput()], verbose=2)
