#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16, ResNet50 or a tiny net on fake ImageNet, in Keras 3 on
TensorFlow, JAX or torch (--backend): one constant batch of random pixels and valid labels on the
host. The lines that say `bench.` (bench.py, beside this file) are the measurement."""
import bench
args = bench.parse("imagenet", "keras", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import contextlib
import itertools
import keras
from keras import layers, optimizers
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

# ---- data: one fixed global batch, on the host, fed again at every step -----------------------
images, labels = bench.fake_imagenet(args.batch * args.replicas)  # the global batch, split by fit()
if args.backend == "tensorflow":  # repeated by tf.data
    import tensorflow as tf
    data = tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(tf.data.AUTOTUNE)
else:  # JAX, torch: a Python generator, Keras's input on every backend
    data = ((images, labels) for step in itertools.count())

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
def tiny(x):  # the per-step overhead task: a step's compute well under a millisecond
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    return layers.Dense(1000)(layers.GlobalAveragePooling2D()(x))

with scope:
    inputs = keras.Input((args.image_size, args.image_size, 3))
    x = layers.Rescaling(1 / 255)(inputs)  # to [0, 1] first
    if args.data_format == "channels_first":
        x = layers.Permute((3, 1, 2))(x)  # NHWC batches -> NCHW
    logits = layers.Activation("linear", dtype="float32")(globals()[args.model](x))  # for the loss
    model = keras.Model(inputs, logits)
    opt = optimizers.SGD(1e-3) if args.model == "resnet50" else optimizers.RMSprop(1e-3)
    model.compile(optimizer=opt, jit_compile=args.xla,  # not "auto": XLA on one GPU; JAX: always
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
model.fit(data, epochs=args.epochs, steps_per_epoch=args.steps, shuffle=False,
          callbacks=[Throughput()], verbose=2)
