#!/usr/bin/env python3
"""Training images/sec of the classic Keras CIFAR-10 CNN on real CIFAR-10, in plain TensorFlow (the
floor under the APIs). No augmentation, RMSprop 1e-4, batch 32 per device. The lines that say
`bench.` (bench.py, beside this file) are the measurement: command line, clock and fingerprint."""
import bench
args = bench.parse("cifar10-cnn", "tf", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import numpy as np
import tensorflow as tf
DEVICE = bench.device(tf.config.list_physical_devices("GPU"), logical_cpus=True)
strategy = tf.distribute.get_strategy()  # the default: one device
if args.num_gpu > 1:  # NUM_GPU replicas in data parallel
    strategy = tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(args.num_gpu)])
DTYPE = tf.float32  # the compute dtype; variables and the loss stay float32
if args.amp:  # mixed precision: bfloat16 on the CPU, float16 (with loss scaling) on a GPU
    DTYPE = tf.float16 if DEVICE == "gpu" else tf.bfloat16
FORMAT = "NCHW" if args.data_format == "channels_first" else "NHWC"  # the convolutions' layout

# ---- data: the real CIFAR-10 training set, read from its files, fed by tf.data -----------------
with bench.cifar_data():
    if args.data:  # the files are Python 2 pickles (of NCHW uint8 rows), which numpy reads
        batches = [np.load(f"{args.data}/cifar-10-batches-py/data_batch_{i}", encoding="bytes",
                           allow_pickle=True) for i in "12345"]
        x = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
        x, y = x.transpose(0, 2, 3, 1), np.concatenate([b[b"labels"] for b in batches])  # NHWC
    else:
        (x, y), _ = tf.keras.datasets.cifar10.load_data()  # downloads on first use
STEPS = bench.steps(len(x))
n = STEPS * args.batch * args.replicas  # whole batches
data = tf.data.Dataset.from_tensor_slices((x[:n].astype("float32") / 255.0,  # scale to [0, 1]
                                           np.reshape(y, -1)[:n].astype("int32")))
data = data.shuffle(n).repeat().batch(args.batch * args.replicas)  # a new order every epoch
batches = iter(strategy.experimental_distribute_dataset(data.prefetch(tf.data.AUTOTUNE)))

# ---- model: its variables in a tf.Module, its layers tf.nn ops, one layer a line ---------------
glorot = tf.compat.v1.glorot_uniform_initializer()  # Keras's default kernels, TensorFlow's own
class CNN(tf.Module):
    def __init__(self):  # 32x32 -> 32 -> 30 -> pool 15 -> 15 -> 13 -> pool 6: 6*6*64 = 2304
        super().__init__()
        shapes = [[3, 3, 3, 32], [3, 3, 32, 32], [3, 3, 32, 64], [3, 3, 64, 64], [2304, 512],
                  [512, 10]]  # the kernels; the biases start at zero, as Keras's
        self.layers = [(tf.Variable(glorot(s)), tf.Variable(tf.zeros(s[-1]))) for s in shapes]
    def conv(self, x, i, padding):  # the i-th layer's kernel and bias, then a ReLU
        w, b = [tf.cast(v, DTYPE) for v in self.layers[i]]
        return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, 1, padding, FORMAT), b, FORMAT))
    def dense(self, x, i, activation=tf.nn.relu):
        w, b = [tf.cast(v, DTYPE) for v in self.layers[i]]
        return activation(tf.nn.bias_add(tf.matmul(x, w), b))
    def __call__(self, x):
        x = tf.transpose(x, [0, 3, 1, 2]) if FORMAT == "NCHW" else x  # NHWC batches -> NCHW
        x = self.conv(tf.cast(x, DTYPE), 0, "SAME")
        x = self.conv(x, 1, "VALID")
        x = tf.nn.max_pool2d(x, 2, 2, "VALID", FORMAT)
        x = tf.nn.dropout(x, 0.25)
        x = self.conv(x, 2, "SAME")
        x = self.conv(x, 3, "VALID")
        x = tf.nn.max_pool2d(x, 2, 2, "VALID", FORMAT)
        x = tf.nn.dropout(x, 0.25)
        x = tf.reshape(x, [-1, 2304])  # flatten
        x = self.dense(x, 4)  # 512
        x = tf.nn.dropout(x, 0.5)
        x = self.dense(x, 5, activation=tf.identity)  # 10: the logits
        return tf.cast(x, tf.float32)  # in float32, for the loss
with strategy.scope():  # mirrored variables with NUM_GPU > 1
    net = CNN()
    rmsprop = tf.compat.v1.train.RMSPropOptimizer(1e-4, epsilon=1e-7)  # rho 0.9, no momentum
    opt = rmsprop  # TensorFlow's own optimizer: its fused kernel; it sums the replicas' gradients
    if DTYPE == tf.float16:  # dynamic loss scaling (as Keras's): 2**15, x2 after 2000 good steps
        scale = tf.compat.v1.mixed_precision.DynamicLossScale()
        opt = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(rmsprop, scale)
def replica_step(images, labels):  # a replica's share of the global batch
    with tf.GradientTape() as tape:
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, net(images))
        loss = tf.reduce_sum(losses) / (args.batch * args.replicas)  # the global batch's mean
        scaled = loss * scale() if DTYPE == tf.float16 else loss
    grads = tape.gradient(scaled, net.trainable_variables)
    if DTYPE == tf.float16:  # unscaled; an overflow halves the scale and skips the update
        grads = [g / scale() for g in grads]
    opt.apply_gradients(zip(grads, net.trainable_variables))  # summed over the replicas
    return loss
@tf.function(jit_compile=args.xla)  # --xla: the whole step one XLA program, as Keras compiles it
def step(images, labels):
    return strategy.reduce("sum", strategy.run(replica_step, (images, labels)), axis=None)
@tf.function
def train(batches):  # the next batch from tf.data, then the step (XLA cannot take the iterator)
    return step(*next(batches))

# ---- train: a plain loop, bench's clock around each epoch ---------------------------------------
keys = bench.tf_keys(train, net, strategy, batches)  # its trace makes RMSprop's slots
for w in net.trainable_variables:  # mean squares from zero, as Keras's RMSprop (TF's: from one)
    rmsprop.get_slot(w, "rms").assign(tf.zeros_like(w))
bench.train_begin(keys)
for epoch in range(args.epochs):
    bench.epoch_begin()
    losses = [train(batches) for _ in range(STEPS)]  # the loss tensors, read once an epoch
    bench.epoch_end(float(tf.reduce_mean(losses)))  # the mean loss of the epoch's steps
bench.train_end()
