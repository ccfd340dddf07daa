#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16, ResNet50 or tiny on fake ImageNet, in tflearn: one
constant batch of random pixels and valid labels on the host. The lines that say `bench.` (bench.py,
beside this file) are the measurement: command line, clock and fingerprint."""
import bench
args = bench.parse("imagenet", "tflearn", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import numpy as np
import PIL.Image
import tensorflow as tf
import tensorflow.python.util.nest as nest
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.layers import *
DEVICE = bench.device(tf.config.list_physical_devices("GPU"))  # no data parallel in tflearn
config = tflearn.init_graph()  # tflearn's session settings: all cores, TensorFlow's default
if args.amp:  # TensorFlow's mixed-precision graph rewrite for DEVICE (bench.AMP_REWRITE names it)
    setattr(config.graph_options.rewrite_options, bench.AMP_REWRITE[DEVICE], RewriterConfig.ON)

# ---- data: one fixed batch, on the host, fed by DNN.fit's feed threads ---------------------------
class Cycle:  # fit() takes len(X) as the epoch and feeds X[batch_ids]: --steps batches of rows
    def __init__(self, a):  # that cycle through the one batch, without copying it
        self.a = a
    def __len__(self):
        return args.steps * len(self.a)
    def __getitem__(self, ids):  # ids: an index array; unshuffled, it is the whole fixed batch
        return self.a[np.asarray(ids) % len(self.a)]
x, y = bench.fake_imagenet(args.batch)

# ---- model: the same layers in every script; every conv and fc 4096 ends in a ReLU --------------
def alexnet(x):
    x = conv_2d(x, 64, 11, strides=4, padding="valid", activation="relu")
    x = max_pool_2d(x, 3, 2, padding="valid")
    x = conv_2d(x, 192, 5, activation="relu")
    x = max_pool_2d(x, 3, 2, padding="valid")
    x = conv_2d(x, 384, 3, activation="relu")
    x = conv_2d(x, 256, 3, activation="relu")
    x = conv_2d(x, 256, 3, activation="relu")
    return classifier(max_pool_2d(x, 3, 2, padding="valid"))
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for convs, filters in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(convs):
            x = conv_2d(x, filters, 3, activation="relu")
        x = max_pool_2d(x, 2, padding="valid")
    return classifier(x)
def classifier(x):  # AlexNet's and VGG16's; fc6 flattens its input
    x = fully_connected(x, 4096, activation="relu")
    x = dropout(x, 0.5)  # tflearn takes the keep probability: drop rate 0.5
    x = fully_connected(x, 4096, activation="relu")
    x = dropout(x, 0.5)
    return fully_connected(x, 1000)
def conv_bn(x, filters, size, stride=1):  # ResNet50's convs: no bias, then batch norm
    x = conv_2d(x, filters, size, strides=stride, bias=False)
    return batch_normalization(x, decay=0.9, epsilon=1e-5)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = tf.nn.relu(conv_bn(x, 64, 7, 2))
    x = max_pool_2d(x, 3, 2)  # tflearn pools "same" by default
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv_bn(x, filters * 4, 1, s)
            r = tf.nn.relu(conv_bn(x, filters, 1, s))
            r = tf.nn.relu(conv_bn(r, filters, 3))
            x = tf.nn.relu(conv_bn(r, filters * 4, 1) + short)
    return fully_connected(tflearn.global_avg_pool(x), 1000)
def tiny(x):  # the per-step overhead task's: a step's compute well under a millisecond
    x = conv_2d(x, 16, 3, activation="relu")  # tflearn's conv_2d pads "same", with a bias
    return fully_connected(tflearn.global_avg_pool(x), 1000)

net = globals()[args.model](input_data([None, args.image_size, args.image_size, 3]) / 255.0)
optimizer = tflearn.SGD(1e-3) if args.model == "resnet50" else tflearn.RMSProp(1e-3, epsilon=1e-7)
if args.amp and DEVICE == "gpu":  # float16: TensorFlow's dynamic loss scaling around its optimizer
    optimizer.build()
    optimizer = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(
        optimizer.get_tensor(), "dynamic")
net = regression(net, optimizer=optimizer, loss="softmax_categorical_crossentropy", metric=None,
                 to_one_hot=True, n_classes=1000)  # from integer labels; no accuracy op
model = tflearn.DNN(net, clip_gradients=0)  # tflearn clips at global norm 5 unless told not to

# ---- timing: tflearn's callback around each epoch, bench's clock ---------------------------------
class Throughput(tflearn.callbacks.Callback):
    def on_train_begin(self, state):  # tflearn: one replica per train op
        bench.train_begin(bench.graph_keys(model.session, len(model.trainer.train_ops)))
    def on_epoch_begin(self, state):
        bench.epoch_begin()
    def on_epoch_end(self, state):  # the loss of the epoch's last step
        bench.epoch_end(state.loss_value)
    def on_train_end(self, state):
        bench.train_end()

# ---- train ---------------------------------------------------------------------------------------
model.fit(Cycle(x), Cycle(y), n_epoch=args.epochs, batch_size=args.batch, shuffle=False,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
