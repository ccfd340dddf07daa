#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on real CIFAR-10, in tflearn.
No augmentation, RMSprop 1e-4, batch 32 per device. The lines that say `bench.` (bench.py, beside
this file) are the measurement: command line, clock and fingerprint."""
import bench
args = bench.parse("cifar10-cnn", "tflearn", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import numpy as np
import PIL.Image
import tensorflow as tf
import tensorflow.python.util.nest as nest
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

nest.is_sequence = nest.is_nested  # tflearn 0.5.0 imports the name TensorFlow 2.21 renamed
PIL.Image.ANTIALIAS = PIL.Image.LANCZOS  # ... and the resampling filter Pillow 10 renamed
import tflearn
from tflearn.datasets.cifar10 import load_batch, load_data
from tflearn.layers import conv_2d, dropout, fully_connected, input_data, max_pool_2d, regression

DEVICE = bench.device(tf.config.list_physical_devices("GPU"))  # no data parallel in tflearn
config = tflearn.init_graph()  # tflearn's session settings: all cores, TensorFlow's default
if args.amp:  # TensorFlow's mixed-precision graph rewrite for DEVICE (bench.AMP_REWRITE names it)
    setattr(config.graph_options.rewrite_options, bench.AMP_REWRITE[DEVICE], RewriterConfig.ON)

# ---- data: the real CIFAR-10 training set, through tflearn's own loader --------------------------
with bench.cifar_data():
    if args.data:  # the batch reader behind tflearn.datasets.cifar10.load_data()
        batches = [load_batch(f"{args.data}/cifar-10-batches-py/data_batch_{i}") for i in "12345"]
        x = np.concatenate([b[0] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        x, y = x / 255.0, np.concatenate([b[1] for b in batches])  # NCHW files -> NHWC in [0, 1]
    else:
        (x, y), _ = load_data()  # downloads on first use; images already in [0, 1]
n = bench.steps(len(x)) * args.batch  # whole batches only; fit() reshuffles on every epoch
x = x[:n].astype("float32")
y = np.asarray(y)[:n].astype("int32")

# ---- model ---------------------------------------------------------------------------------------
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
optimizer = tflearn.RMSProp(1e-4, epsilon=1e-7)
if args.amp and DEVICE == "gpu":  # float16: TensorFlow's dynamic loss scaling around its optimizer
    optimizer.build()
    optimizer = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(
        optimizer.get_tensor(), "dynamic")
net = regression(net, optimizer=optimizer, loss="softmax_categorical_crossentropy",
                 metric=None,  # no accuracy op
                 to_one_hot=True, n_classes=10)  # from integer labels
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
model.fit(x, y, n_epoch=args.epochs, batch_size=args.batch, shuffle=True,
          show_metric=False, snapshot_epoch=False, callbacks=Throughput())
